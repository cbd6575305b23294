using TorchSharp;
using WavFusion.Models.Wav2Vec2;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace WavFusion.Tests.Wav2Vec2;

/// <summary>
/// The module's state_dict, mapped through <see cref="Wav2Vec2Checkpoint.PublicLayout"/>, must equal the public
/// checkpoints' key/shape table, written out here independently from PORTING.md §1. Full-size models are built
/// on the meta device, so no 95M/315M parameters are allocated.
/// </summary>
public sealed class Wav2Vec2LayoutTests(ITestOutputHelper log)
{
    [Fact]
    public void Presets_match_the_published_sizes()
    {
        var b = Wav2Vec2Config.Base();
        Assert.Equal((768, 12, 12, 3072, "group", false, false), (b.HiddenSize, b.NumHiddenLayers, b.NumAttentionHeads, b.IntermediateSize, b.FeatExtractNorm, b.DoStableLayerNorm, b.ConvBias));
        var l = Wav2Vec2Config.LargeLv60();
        Assert.Equal((1024, 24, 16, 4096, "layer", true, true), (l.HiddenSize, l.NumHiddenLayers, l.NumAttentionHeads, l.IntermediateSize, l.FeatExtractNorm, l.DoStableLayerNorm, l.ConvBias));
        foreach (var c in new[] { b, l })
        {
            Assert.Equal(Enumerable.Repeat(512, 7), c.ConvDim);
            Assert.Equal([10, 3, 3, 3, 3, 2, 2], c.ConvKernel);
            Assert.Equal([5, 2, 2, 2, 2, 2, 2], c.ConvStride);
            Assert.Equal((128, 16, 1e-5), (c.NumConvPosEmbeddings, c.NumConvPosEmbeddingGroups, c.LayerNormEps));
            Assert.Equal(400, c.ReceptiveField);
        }
    }

    [Theory]
    [InlineData("base", WeightNormNames.Legacy)]
    [InlineData("base", WeightNormNames.Parametrizations)]
    [InlineData("large-lv60", WeightNormNames.Legacy)]
    [InlineData("large-lv60", WeightNormNames.Parametrizations)]
    public void Full_size_state_dict_maps_onto_the_public_checkpoint_layout(string preset, WeightNormNames names)
    {
        var config = preset == "base" ? Wav2Vec2Config.Base() : Wav2Vec2Config.LargeLv60();
        using var model = new Wav2Vec2Model(config, torch.META);
        var stateDict = model.state_dict();
        Assert.All(stateDict.Values, t => Assert.True(t.is_meta, "built on the meta device, nothing allocated"));

        var actual = Wav2Vec2Checkpoint.PublicLayout(stateDict.Select(kv => (kv.Key, kv.Value.shape)), names, Wav2Vec2Checkpoint.Prefix)
            .Select(Describe).ToList();
        var expected = ExpectedPublicLayout(config, names).Select(Describe).ToList();

        var missing = expected.Except(actual).ToList();
        var extra = actual.Except(expected).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"not in our layout: {string.Join("; ", missing)} | not in the public layout: {string.Join("; ", extra)}");
        Assert.Equal(expected.Count, actual.Count);
        long parameters = ExpectedPublicLayout(config, names).Sum(e => e.Shape.Aggregate(1L, (a, d) => a * d));
        log.WriteLine($"{preset}: {expected.Count} public keys, {parameters:N0} stored values");
    }

    [Fact]
    public void Tiny_model_state_dict_keys_are_the_unprefixed_module_keys()
    {
        using var model = new Wav2Vec2Model(Wav2Vec2TestModels.Tiny(stable: false), torch.META);
        var keys = model.state_dict().Keys.ToHashSet();
        Assert.Contains("encoder.pos_conv_embed.conv.weight", keys);
        Assert.Contains("feature_extractor.conv_layers.0.layer_norm.weight", keys);
        Assert.DoesNotContain("feature_extractor.conv_layers.1.layer_norm.weight", keys);
        Assert.DoesNotContain(keys, k => k.StartsWith("wav2vec2.", StringComparison.Ordinal) || k.Contains("weight_g", StringComparison.Ordinal));
    }

    private static string Describe((string Key, long[] Shape) e) => $"{e.Key} [{string.Join(", ", e.Shape)}]";

    /// <summary>The keys of a public Wav2Vec2ForPreTraining/ForCTC checkpoint's <c>wav2vec2.</c> part (PORTING.md §1).</summary>
    private static List<(string Key, long[] Shape)> ExpectedPublicLayout(Wav2Vec2Config c, WeightNormNames names)
    {
        const string p = "wav2vec2.";
        var list = new List<(string, long[])>();
        void Norm(string prefix, long n)
        {
            list.Add(($"{prefix}.weight", [n]));
            list.Add(($"{prefix}.bias", [n]));
        }
        void Dense(string prefix, long outputs, long inputs)
        {
            list.Add(($"{prefix}.weight", [outputs, inputs]));
            list.Add(($"{prefix}.bias", [outputs]));
        }
        for (int i = 0; i < c.ConvDim.Count; i++)
        {
            string layer = $"{p}feature_extractor.conv_layers.{i}";
            list.Add(($"{layer}.conv.weight", [c.ConvDim[i], i == 0 ? 1 : c.ConvDim[i - 1], c.ConvKernel[i]]));
            if (c.ConvBias) list.Add(($"{layer}.conv.bias", [c.ConvDim[i]]));
            if (c.FeatExtractNorm == "layer" || i == 0) Norm($"{layer}.layer_norm", c.ConvDim[i]);
        }
        long h = c.HiddenSize;
        Norm($"{p}feature_projection.layer_norm", c.ConvDim[^1]);
        Dense($"{p}feature_projection.projection", h, c.ConvDim[^1]);
        string conv = $"{p}encoder.pos_conv_embed.conv";
        list.Add(($"{conv}.bias", [h]));
        string g = names == WeightNormNames.Legacy ? "weight_g" : "parametrizations.weight.original0";
        string v = names == WeightNormNames.Legacy ? "weight_v" : "parametrizations.weight.original1";
        list.Add(($"{conv}.{g}", [1, 1, c.NumConvPosEmbeddings]));
        list.Add(($"{conv}.{v}", [h, h / c.NumConvPosEmbeddingGroups, c.NumConvPosEmbeddings]));
        Norm($"{p}encoder.layer_norm", h);
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            string layer = $"{p}encoder.layers.{i}";
            foreach (var proj in new[] { "q_proj", "k_proj", "v_proj", "out_proj" }) Dense($"{layer}.attention.{proj}", h, h);
            Norm($"{layer}.layer_norm", h);
            Dense($"{layer}.feed_forward.intermediate_dense", c.IntermediateSize, h);
            Dense($"{layer}.feed_forward.output_dense", h, c.IntermediateSize);
            Norm($"{layer}.final_layer_norm", h);
        }
        return list;
    }
}
