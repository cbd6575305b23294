using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.Text;
using WavFusion.Tests.Infrastructure;
using static TorchSharp.torch;

namespace WavFusion.Tests.Text;

public sealed class TextModelLoadTests
{
    private static RobertaModel RandomRoberta(ulong seed = 1)
    {
        var model = new RobertaModel(TextCheckpointFiles.SmallRoberta());
        TextCheckpointFiles.Randomise(model, seed);
        model.eval();
        return model;
    }

    private static (Tensor Ids, Tensor Mask) Batch()
    {
        var ids = torch.tensor(new long[,] { { 0, 7, 8, 9, 10, 2 }, { 0, 11, 12, 2, 1, 1 } });
        var mask = ids.ne(1).to(ScalarType.Int64);
        return (ids, mask);
    }

    [Fact]
    public void Roberta_checkpoint_with_prefix_and_lm_head_reloads_to_identical_outputs()
    {
        using var scope = torch.NewDisposeScope();
        using var dir = new TempDir();
        using var original = RandomRoberta();
        var lmHead = new Dictionary<string, Tensor> { ["lm_head.dense.weight"] = torch.ones(16, 16), ["lm_head.bias"] = torch.ones(50) };
        TextCheckpointFiles.Write(dir.Path, original.Config, original.state_dict(), RobertaModel.CheckpointPrefix, lmHead);

        using var loaded = RobertaModel.FromPretrained(dir.Path);
        var (ids, mask) = Batch();
        using var _ = torch.no_grad();
        var expected = original.forward(ids, mask);
        var actual = loaded.forward(ids, mask);
        Assert.True(expected.equal(actual).all().item<bool>(), "reloaded RoBERTa differs from the saved one");
        Assert.True(original.Pool(expected).equal(loaded.Pool(actual)).all().item<bool>(), "pooler weights were not loaded");
    }

    [Fact]
    public void Unprefixed_checkpoint_without_pooler_loads_from_the_weights_file_path()
    {
        using var dir = new TempDir();
        using var original = RandomRoberta(2);
        var noPooler = original.state_dict().Where(kv => !kv.Key.StartsWith("pooler.", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        TextCheckpointFiles.Write(dir.Path, original.Config, noPooler, prefix: "");

        using var loaded = RobertaModel.FromPretrained(dir.File("model.safetensors"));
        Assert.True(original.embeddings.LayerNorm.weight!.equal(loaded.embeddings.LayerNorm.weight!).all().item<bool>());
        Assert.True(original.encoder.layer[1].output.dense.weight.equal(loaded.encoder.layer[1].output.dense.weight).all().item<bool>());
    }

    [Fact]
    public void Missing_key_is_named_in_the_error()
    {
        using var dir = new TempDir();
        using var original = RandomRoberta();
        var dict = original.state_dict().Where(kv => kv.Key != "encoder.layer.1.attention.self.key.bias")
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        TextCheckpointFiles.Write(dir.Path, original.Config, dict, RobertaModel.CheckpointPrefix);

        var e = Assert.Throws<CheckpointException>(() => RobertaModel.FromPretrained(dir.Path));
        Assert.Contains("missing keys: encoder.layer.1.attention.self.key.bias", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unexpected_key_and_shape_mismatch_are_named_in_the_error()
    {
        using var dir = new TempDir();
        using var original = RandomRoberta();
        var dict = new Dictionary<string, Tensor>(original.state_dict())
        {
            ["encoder.layer.0.attention.self.query.weight"] = torch.zeros(16, 8),
        };
        var extra = new Dictionary<string, Tensor> { ["classifier.dense.weight"] = torch.zeros(3, 16) };
        TextCheckpointFiles.Write(dir.Path, original.Config, dict, RobertaModel.CheckpointPrefix, extra);

        var e = Assert.Throws<CheckpointException>(() => RobertaModel.FromPretrained(dir.Path));
        Assert.Contains("unexpected keys: classifier.dense.weight", e.Message, StringComparison.Ordinal);
        Assert.Contains("encoder.layer.0.attention.self.query.weight: checkpoint [16, 8] vs model [16, 16]", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Folder_with_a_damaged_pickle_checkpoint_is_refused_clearly()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("config.json"), "{}");
        File.WriteAllBytes(dir.File("pytorch_model.bin"), [1, 2, 3]);
        var e = Assert.Throws<CheckpointException>(() => BertModel.FromPretrained(dir.Path));
        Assert.Contains("pytorch_model.bin", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_that_cannot_form_a_model_names_the_field()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("config.json"), """{"hidden_size": 10, "num_attention_heads": 4}""");
        var e = Assert.Throws<ArgumentException>(() => RobertaConfig.Load(dir.File("config.json")));
        Assert.Contains("num_attention_heads", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Input_ids_outside_the_vocabulary_are_rejected()
    {
        using var model = RandomRoberta();
        using var ids = torch.tensor(new long[,] { { 0, 50, 2 } });
        using var mask = torch.ones_like(ids);
        var e = Assert.Throws<ArgumentException>(() => model.forward(ids, mask));
        Assert.Contains("[0, 50)", e.Message, StringComparison.Ordinal);
    }
}
