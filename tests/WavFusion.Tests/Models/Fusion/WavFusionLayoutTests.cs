using TorchSharp;
using WavFusion.Models.Fusion;
using WavFusion.Models.Wav2Vec2;
using static TorchSharp.torch;

namespace WavFusion.Tests.Fusion;

/// <summary>The full-size layout, built on the meta device so that no 95M parameters are allocated.</summary>
public sealed class WavFusionLayoutTests
{
    private static void Add(Dictionary<string, long[]> table, string key, params long[] shape) => table.Add(key, shape);

    /// <summary>wav2vec2-base's public keys (Wav2Vec2Model, weight norm folded into the positional conv's weight), from the published layout.</summary>
    private static Dictionary<string, long[]> Wav2Vec2BaseKeys(string prefix)
    {
        var t = new Dictionary<string, long[]>(StringComparer.Ordinal);
        long[] kernels = [10, 3, 3, 3, 3, 2, 2];
        for (var i = 0; i < 7; i++) Add(t, $"{prefix}feature_extractor.conv_layers.{i}.conv.weight", 512, i == 0 ? 1 : 512, kernels[i]);
        Add(t, $"{prefix}feature_extractor.conv_layers.0.layer_norm.weight", 512);
        Add(t, $"{prefix}feature_extractor.conv_layers.0.layer_norm.bias", 512);
        Add(t, $"{prefix}feature_projection.layer_norm.weight", 512);
        Add(t, $"{prefix}feature_projection.layer_norm.bias", 512);
        Add(t, $"{prefix}feature_projection.projection.weight", 768, 512);
        Add(t, $"{prefix}feature_projection.projection.bias", 768);
        Add(t, $"{prefix}encoder.pos_conv_embed.conv.weight", 768, 48, 128);
        Add(t, $"{prefix}encoder.pos_conv_embed.conv.bias", 768);
        Add(t, $"{prefix}encoder.layer_norm.weight", 768);
        Add(t, $"{prefix}encoder.layer_norm.bias", 768);
        for (var l = 0; l < 12; l++)
        {
            var p = $"{prefix}encoder.layers.{l}.";
            foreach (var proj in new[] { "q_proj", "k_proj", "v_proj", "out_proj" })
            {
                Add(t, $"{p}attention.{proj}.weight", 768, 768);
                Add(t, $"{p}attention.{proj}.bias", 768);
            }
            foreach (var norm in new[] { "layer_norm", "final_layer_norm" })
            {
                Add(t, $"{p}{norm}.weight", 768);
                Add(t, $"{p}{norm}.bias", 768);
            }
            Add(t, $"{p}feed_forward.intermediate_dense.weight", 3072, 768);
            Add(t, $"{p}feed_forward.intermediate_dense.bias", 3072);
            Add(t, $"{p}feed_forward.output_dense.weight", 768, 3072);
            Add(t, $"{p}feed_forward.output_dense.bias", 768);
        }
        return t;
    }

    private static void AddAttention(Dictionary<string, long[]> t, string p, long query, long memory)
    {
        Add(t, $"{p}q_proj.weight", query, query);
        Add(t, $"{p}q_proj.bias", query);
        Add(t, $"{p}k_proj.weight", query, memory);
        Add(t, $"{p}k_proj.bias", query);
        Add(t, $"{p}v_proj.weight", query, memory);
        Add(t, $"{p}v_proj.bias", query);
        Add(t, $"{p}out_proj.weight", query, query);
        Add(t, $"{p}out_proj.bias", query);
    }

    private static void AddGru(Dictionary<string, long[]> t, string p, long input, long hidden)
    {
        foreach (var suffix in new[] { "", "_reverse" })
        {
            Add(t, $"{p}weight_ih_l0{suffix}", 3 * hidden, input);
            Add(t, $"{p}weight_hh_l0{suffix}", 3 * hidden, hidden);
            Add(t, $"{p}bias_ih_l0{suffix}", 3 * hidden);
            Add(t, $"{p}bias_hh_l0{suffix}", 3 * hidden);
        }
    }

    private static void AddNorm(Dictionary<string, long[]> t, string p, long n, bool batchNorm = false)
    {
        Add(t, $"{p}weight", n);
        Add(t, $"{p}bias", n);
        if (!batchNorm) return;
        Add(t, $"{p}running_mean", n);
        Add(t, $"{p}running_var", n);
        t.Add($"{p}num_batches_tracked", []);
    }

    /// <summary>Our modules at the paper's default sizes (text 2×384, visual 64 + 64, K = 32, deep layers 9–11, 6 classes).</summary>
    private static Dictionary<string, long[]> WavFusionKeys()
    {
        var t = Wav2Vec2BaseKeys("wav2vec2.");
        for (var l = 9; l < 12; l++)
        {
            AddAttention(t, $"cross_attention.{l}.text_attention.", 768, 768);
            AddAttention(t, $"cross_attention.{l}.visual_attention.", 768, 128);
            Add(t, $"cross_attention.{l}.gate.weight", 768, 1536);
            Add(t, $"cross_attention.{l}.gate.bias", 768);
        }
        AddGru(t, "text_branch.gru.", 768, 384);
        AddAttention(t, "text_branch.attention.", 768, 768);
        AddNorm(t, "text_branch.layer_norm.", 768);
        AddGru(t, "visual_branch.agru.gru.", 1280, 32);
        AddAttention(t, "visual_branch.agru.attention.", 64, 64);
        AddNorm(t, "visual_branch.agru.layer_norm.", 64);
        var lvc = "visual_branch.lvc.";
        Add(t, $"{lvc}conv1.weight", 64, 1280, 1);
        AddNorm(t, $"{lvc}bn1.", 64, batchNorm: true);
        Add(t, $"{lvc}conv2.weight", 64, 64, 3);
        AddNorm(t, $"{lvc}bn2.", 64, batchNorm: true);
        Add(t, $"{lvc}conv3.weight", 256, 64, 1);
        AddNorm(t, $"{lvc}bn3.", 256, batchNorm: true);
        Add(t, $"{lvc}codewords", 32, 256);
        Add(t, $"{lvc}smoothing", 32);
        AddNorm(t, $"{lvc}code_norm.", 32, batchNorm: true);
        Add(t, $"{lvc}gate.weight", 256, 256);
        Add(t, $"{lvc}gate.bias", 256);
        Add(t, $"{lvc}projection.weight", 64, 256);
        Add(t, $"{lvc}projection.bias", 64);
        Add(t, "classifier.weight", 6, 768);
        Add(t, "classifier.bias", 6);
        Add(t, "margin.visual_adapter.weight", 768, 128);
        Add(t, "margin.visual_adapter.bias", 768);
        Add(t, "margin.encoder.weight", 256, 768);
        Add(t, "margin.encoder.bias", 256);
        return t;
    }

    private static void AssertLayout(Dictionary<string, long[]> expected, IDictionary<string, Tensor> actual)
    {
        var missing = expected.Keys.Except(actual.Keys).Order(StringComparer.Ordinal).ToList();
        var extra = actual.Keys.Except(expected.Keys).Order(StringComparer.Ordinal).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0, $"missing: {string.Join(", ", missing)}; unexpected: {string.Join(", ", extra)}");
        foreach (var (key, shape) in expected)
            Assert.True(shape.SequenceEqual(actual[key].shape), $"{key}: expected [{string.Join(", ", shape)}], got [{string.Join(", ", actual[key].shape)}]");
    }

    [Fact]
    public void Full_size_state_dict_is_the_wav2vec2_base_layout_plus_the_fusion_modules()
    {
        using var model = new WavFusionModel(WavFusionConfig.Base(), torch.META);
        AssertLayout(WavFusionKeys(), model.state_dict());

        // The wav2vec2 part is exactly the port's own (public-checkpoint) layout under the prefix.
        using var audio = new Wav2Vec2Model(Wav2Vec2Config.Base(), torch.META);
        var ours = model.state_dict().Keys.Where(k => k.StartsWith("wav2vec2.", StringComparison.Ordinal)).Select(k => k["wav2vec2.".Length..]);
        Assert.Equal(audio.state_dict().Keys.Order(StringComparer.Ordinal), ours.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Full_size_trainable_parameters_are_the_deep_layers_and_the_new_modules()
    {
        using var model = new WavFusionModel(WavFusionConfig.Base(), torch.META);
        var trainable = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).ToList();
        var frozen = model.named_parameters().Where(p => !p.parameter.requires_grad).Select(p => p.name).ToList();
        Assert.All(frozen, name => Assert.StartsWith("wav2vec2.", name, StringComparison.Ordinal));
        Assert.All(trainable.Where(n => n.StartsWith("wav2vec2.", StringComparison.Ordinal)),
            name => Assert.Matches(@"^wav2vec2\.encoder\.layers\.(9|10|11)\.", name));
        Assert.Contains("wav2vec2.encoder.layers.9.attention.q_proj.weight", trainable);
        Assert.Contains("wav2vec2.encoder.layers.8.attention.q_proj.weight", frozen);
        Assert.Contains("wav2vec2.feature_extractor.conv_layers.0.conv.weight", frozen);
        Assert.Contains("wav2vec2.encoder.pos_conv_embed.conv.weight", frozen);

        // Counts from the shapes: 3 deep layers of 7,087,872 parameters each.
        long Count(IEnumerable<string> names) => names.Sum(n => model.get_parameter(n)!.numel());
        Assert.Equal(3 * 7_087_872L, Count(trainable.Where(n => n.StartsWith("wav2vec2.", StringComparison.Ordinal))));
    }

    [Fact]
    public void Concat_variant_of_the_12_0_split_has_no_cross_attention_and_a_wider_classifier()
    {
        var config = WavFusionConfig.Base() with { DeepLayers = 0, Fusion = FusionKind.Concat };
        using var model = new WavFusionModel(config, torch.META);
        var sd = model.state_dict();
        Assert.DoesNotContain(sd.Keys, k => k.StartsWith("cross_attention.", StringComparison.Ordinal));
        Assert.Equal(new long[] { 6, 768 + 768 + 128 }, sd["classifier.weight"].shape);
        Assert.DoesNotContain(model.named_parameters(), p => p.name.StartsWith("wav2vec2.", StringComparison.Ordinal) && p.parameter.requires_grad);
        Assert.Throws<ArgumentException>(() => new WavFusionModel(config with { Fusion = FusionKind.Gated }, torch.META));
    }
}
