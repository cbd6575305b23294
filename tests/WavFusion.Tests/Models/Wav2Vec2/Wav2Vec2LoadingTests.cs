using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.Wav2Vec2;
using WavFusion.Tests.Infrastructure;
using static TorchSharp.torch;

namespace WavFusion.Tests.Wav2Vec2;

public sealed class Wav2Vec2LoadingTests
{
    private static void AssertSameWeights(Wav2Vec2Model expected, Wav2Vec2Model actual, double atol)
    {
        var e = expected.state_dict();
        var a = actual.state_dict();
        Assert.Equal(e.Keys.Order(), a.Keys.Order());
        foreach (var (key, t) in e)
        {
            double diff = (t - a[key]).abs().max().item<float>();
            Assert.True(diff <= atol, $"{key}: max |diff| {diff:E2}");
        }
    }

    [Fact]
    public void Weight_norm_fold_matches_a_hand_computed_case()
    {
        using var scope = torch.NewDisposeScope();
        // v[:, 0, k]: tap 0 = (3, 4) with norm 5, tap 1 = (0, 2) with norm 2; g = (10, 3).
        var v = torch.tensor(new float[] { 3, 0, 4, 2 }, [2, 1, 2]);
        var g = torch.tensor(new float[] { 10, 3 }, [1, 1, 2]);
        var w = Wav2Vec2Checkpoint.Fold(g, v);
        Assert.Equal(new float[] { 6, 0, 8, 3 }, w.data<float>().ToArray());
    }

    [Theory]
    [InlineData(false, WeightNormNames.Legacy, "wav2vec2.")]
    [InlineData(false, WeightNormNames.Parametrizations, "")]
    [InlineData(true, WeightNormNames.Legacy, "")]
    [InlineData(true, WeightNormNames.Parametrizations, "wav2vec2.")]
    public void Public_checkpoint_round_trips_under_either_weight_norm_naming_and_prefix(bool stable, WeightNormNames names, string prefix)
    {
        using var scope = torch.NewDisposeScope();
        var config = Wav2Vec2TestModels.Tiny(stable);
        using var source = Wav2Vec2TestModels.Random(config, seed: 1);
        using var loaded = Wav2Vec2Model.FromStateDict(config, Wav2Vec2TestModels.PublicStateDict(source, names, prefix), "test checkpoint");
        AssertSameWeights(source, loaded, 1e-5);
        Assert.False(loaded.training);
    }

    [Fact]
    public void New_style_weight_norm_names_load_equal_to_old_style()
    {
        using var scope = torch.NewDisposeScope();
        var config = Wav2Vec2TestModels.Tiny(stable: true);
        using var source = Wav2Vec2TestModels.Random(config, seed: 2);
        using var legacy = Wav2Vec2Model.FromStateDict(config, Wav2Vec2TestModels.PublicStateDict(source, WeightNormNames.Legacy, "wav2vec2."), "old");
        using var parametrized = Wav2Vec2Model.FromStateDict(config, Wav2Vec2TestModels.PublicStateDict(source, WeightNormNames.Parametrizations, "wav2vec2."), "new");
        AssertSameWeights(legacy, parametrized, 0);
        var audio = Wav2Vec2TestModels.RandomAudio(1, 200, seed: 3);
        using var a = legacy.forward(audio);
        using var b = parametrized.forward(audio);
        Assert.True(a.LastHiddenState.eq(b.LastHiddenState).all().item<bool>());
    }

    [Fact]
    public void Pretraining_heads_are_ignored()
    {
        using var scope = torch.NewDisposeScope();
        var config = Wav2Vec2TestModels.Tiny(stable: false);
        using var source = Wav2Vec2TestModels.Random(config, seed: 4);
        var dict = Wav2Vec2TestModels.PublicStateDict(source, WeightNormNames.Legacy, "wav2vec2.");
        dict["wav2vec2.masked_spec_embed"] = torch.zeros(16);
        dict["quantizer.codevectors"] = torch.zeros(1, 4, 2);
        dict["quantizer.weight_proj.weight"] = torch.zeros(4, 12);
        dict["project_hid.weight"] = torch.zeros(4, 16);
        dict["project_q.bias"] = torch.zeros(4);
        dict["lm_head.weight"] = torch.zeros(5, 16);
        using var model = new Wav2Vec2Model(config);
        var report = model.Load(dict, "pretraining checkpoint");
        Assert.Equal(6, report.IgnoredOptional.Count);
        AssertSameWeights(source, model, 1e-5);
    }

    [Fact]
    public void Missing_unexpected_and_mis_shaped_keys_fail_naming_every_key()
    {
        using var scope = torch.NewDisposeScope();
        var config = Wav2Vec2TestModels.Tiny(stable: false);
        using var source = Wav2Vec2TestModels.Random(config, seed: 5);
        var dict = Wav2Vec2TestModels.PublicStateDict(source, WeightNormNames.Legacy, "wav2vec2.");
        dict.Remove("wav2vec2.encoder.layers.1.attention.k_proj.bias");
        dict["wav2vec2.encoder.layers.7.attention.k_proj.bias"] = torch.zeros(16);
        dict["wav2vec2.feature_projection.projection.weight"] = torch.zeros(16, 5);
        var e = Assert.Throws<CheckpointException>(() => Wav2Vec2Model.FromStateDict(config, dict, "broken.safetensors"));
        Assert.Contains("broken.safetensors", e.Message, StringComparison.Ordinal);
        Assert.Contains("encoder.layers.1.attention.k_proj.bias", e.Message, StringComparison.Ordinal);
        Assert.Contains("encoder.layers.7.attention.k_proj.bias", e.Message, StringComparison.Ordinal);
        Assert.Contains("feature_projection.projection.weight: checkpoint [16, 5] vs model [16, 12]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Half_a_weight_norm_pair_or_a_duplicated_positional_weight_fails_naming_the_keys()
    {
        using var scope = torch.NewDisposeScope();
        var config = Wav2Vec2TestModels.Tiny(stable: false);
        using var source = Wav2Vec2TestModels.Random(config, seed: 6);

        var noG = Wav2Vec2TestModels.PublicStateDict(source, WeightNormNames.Legacy, "");
        noG.Remove("encoder.pos_conv_embed.conv.weight_g");
        var e = Assert.Throws<CheckpointException>(() => Wav2Vec2Model.FromStateDict(config, noG, "ckpt"));
        Assert.Contains("encoder.pos_conv_embed.conv.weight_g", e.Message, StringComparison.Ordinal);

        var both = Wav2Vec2TestModels.PublicStateDict(source, WeightNormNames.Legacy, "");
        foreach (var (k, t) in Wav2Vec2TestModels.PublicStateDict(source, WeightNormNames.Parametrizations, ""))
            both.TryAdd(k, t);
        e = Assert.Throws<CheckpointException>(() => Wav2Vec2Model.FromStateDict(config, both, "ckpt"));
        Assert.Contains("parametrizations.weight.original0", e.Message, StringComparison.Ordinal);

        var badG = Wav2Vec2TestModels.PublicStateDict(source, WeightNormNames.Legacy, "");
        badG["encoder.pos_conv_embed.conv.weight_g"] = torch.ones(16, 1, 1);
        e = Assert.Throws<CheckpointException>(() => Wav2Vec2Model.FromStateDict(config, badG, "ckpt"));
        Assert.Contains("weight_g' [16, 1, 1]", e.Message, StringComparison.Ordinal);

        var dup = Wav2Vec2TestModels.PublicStateDict(source, WeightNormNames.Legacy, "wav2vec2.");
        dup["feature_projection.projection.bias"] = torch.zeros(16);
        e = Assert.Throws<CheckpointException>(() => Wav2Vec2Model.FromStateDict(config, dup, "ckpt"));
        Assert.Contains("'feature_projection.projection.bias' occurs both with and without", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_plain_positional_weight_loads_as_is()
    {
        using var scope = torch.NewDisposeScope();
        var config = Wav2Vec2TestModels.Tiny(stable: true);
        using var source = Wav2Vec2TestModels.Random(config, seed: 7);
        var plain = source.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        using var loaded = Wav2Vec2Model.FromStateDict(config, plain, "plain");
        AssertSameWeights(source, loaded, 0);
    }

    [Fact]
    public void Model_folder_problems_are_reported_with_the_path()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<CheckpointException>(() => Wav2Vec2Model.FromPretrained(dir.Path));
        Assert.Contains("config.json", e.Message, StringComparison.Ordinal);

        File.WriteAllText(dir.File("config.json"), """{"model_type": "wav2vec2", "hidden_size": 32, "num_attention_heads": 4, "num_conv_pos_embedding_groups": 4}""");
        e = Assert.Throws<CheckpointException>(() => Wav2Vec2Model.FromPretrained(dir.Path));
        Assert.Contains("model.safetensors", e.Message, StringComparison.Ordinal);

        File.WriteAllBytes(dir.File("pytorch_model.bin"), [0x50, 0x4b]);
        e = Assert.Throws<CheckpointException>(() => Wav2Vec2Model.FromPretrained(dir.Path));
        Assert.Contains("pytorch_model.bin", e.Message, StringComparison.Ordinal);

        e = Assert.Throws<CheckpointException>(() => Wav2Vec2Model.FromPretrained(dir.File("nothing-here")));
        Assert.Contains("nothing-here", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_errors_name_the_file_and_field()
    {
        using var dir = new TempDir();
        string path = dir.File("config.json");
        File.WriteAllText(path, """{"model_type": "wav2vec2", "hidden_size": 30, "num_attention_heads": 4}""");
        var e = Assert.Throws<CheckpointException>(() => Wav2Vec2Config.Load(path));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("num_attention_heads", e.Message, StringComparison.Ordinal);

        File.WriteAllText(path, """{"model_type": "wav2vec2", "conv_dim": "wide"}""");
        e = Assert.Throws<CheckpointException>(() => Wav2Vec2Config.Load(path));
        Assert.Contains("conv_dim", e.Message, StringComparison.Ordinal);

        File.WriteAllText(path, """{"model_type": "wav2vec2", "feat_extract_norm": "batch"}""");
        e = Assert.Throws<CheckpointException>(() => Wav2Vec2Config.Load(path));
        Assert.Contains("feat_extract_norm", e.Message, StringComparison.Ordinal);

        File.WriteAllText(path, """{"model_type": "bert"}""");
        e = Assert.Throws<CheckpointException>(() => Wav2Vec2Config.Load(path));
        Assert.Contains("model_type", e.Message, StringComparison.Ordinal);
    }
}
