using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.Wav2Vec2;
using WavFusion.Tests.Infrastructure;
using static TorchSharp.torch;

namespace WavFusion.Tests.Wav2Vec2;

/// <summary>A pretraining checkpoint saved by real torch.save (Data/torch/make_torch_checkpoints.py), as facebook/wav2vec2-base ships.</summary>
public sealed class Wav2Vec2PytorchBinTests
{
    private static string Folder => Path.Combine(RepoPaths.TestData, "torch", "wav2vec2-tiny-bin");

    [Fact]
    public void Folder_with_pytorch_model_bin_loads_strictly_and_runs()
    {
        using var model = Wav2Vec2Model.FromPretrained(Folder);
        var source = CheckpointReader.ReadStateDict(Folder);
        Assert.True(source["wav2vec2.encoder.layers.1.attention.q_proj.weight"].Same(model.encoder.layers[1].attention.q_proj.weight!));

        var g = source["wav2vec2.encoder.pos_conv_embed.conv.weight_g"];
        var v = source["wav2vec2.encoder.pos_conv_embed.conv.weight_v"];
        var folded = g * v / v.pow(2).sum([0, 1], keepdim: true).sqrt();
        var loaded = model.state_dict()["encoder.pos_conv_embed.conv.weight"];
        Assert.True(folded.allclose(loaded, rtol: 1e-5, atol: 1e-7));

        using var _ = torch.inference_mode();
        using var output = model.forward(torch.randn(2, 4000));
        Assert.Equal(new long[] { 2, model.Config.FrameCount(4000), 16 }, output.LastHiddenState.shape);
        Assert.True(output.LastHiddenState.isfinite().all().item<bool>());
    }
}

public sealed class Wav2Vec2FreshModelTests
{
    [Theory]
    [InlineData("group")]
    [InlineData("layer")]
    public void A_freshly_built_model_has_finite_parameters_and_outputs(string norm)
    {
        var config = new Wav2Vec2Config
        {
            HiddenSize = 16, NumHiddenLayers = 1, NumAttentionHeads = 2, IntermediateSize = 32,
            ConvDim = [8, 8, 8, 8, 8, 8, 8], NumConvPosEmbeddings = 4, NumConvPosEmbeddingGroups = 2,
            FeatExtractNorm = norm, DoStableLayerNorm = norm == "layer", ConvBias = norm == "layer",
        };
        using var model = new Wav2Vec2Model(config);
        foreach (var (key, value) in model.state_dict())
            Assert.True(value.isfinite().all().item<bool>(), $"{key} is not finite after construction");
        model.eval();
        using var _ = torch.inference_mode();
        using var output = model.forward(torch.randn(1, 2000));
        Assert.True(output.LastHiddenState.isfinite().all().item<bool>());
    }
}
