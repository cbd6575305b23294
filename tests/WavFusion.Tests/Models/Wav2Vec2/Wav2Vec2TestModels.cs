using TorchSharp;
using WavFusion.Models.Wav2Vec2;
using static TorchSharp.torch;

namespace WavFusion.Tests.Wav2Vec2;

/// <summary>Small wav2vec2 models with every parameter randomised (norm affines included), for fast tests.</summary>
internal static class Wav2Vec2TestModels
{
    /// <summary>Receptive field 30 samples, stride 20: short inputs give several frames.</summary>
    public static Wav2Vec2Config Tiny(bool stable) => new()
    {
        HiddenSize = 16,
        NumHiddenLayers = 2,
        NumAttentionHeads = 4,
        IntermediateSize = 24,
        ConvDim = [8, 8, 12],
        ConvKernel = [10, 3, 2],
        ConvStride = [5, 2, 2],
        ConvBias = stable,
        FeatExtractNorm = stable ? "layer" : "group",
        DoStableLayerNorm = stable,
        NumConvPosEmbeddings = 6,
        NumConvPosEmbeddingGroups = 2,
    };

    public static Wav2Vec2Model Random(Wav2Vec2Config config, int seed, FrameLinearPath frameLinear = FrameLinearPath.Auto)
    {
        torch.manual_seed(seed);
        var model = new Wav2Vec2Model(config, frameLinear: frameLinear);
        using (torch.no_grad())
        {
            foreach (var (_, p) in model.named_parameters())
                p.copy_(torch.randn(p.shape) * 0.5);
        }
        model.eval();
        return model;
    }

    /// <summary>The model's weights as a public checkpoint would hold them: weight-norm pair (g = ‖W‖ per tap, v = W scaled), optional prefix.</summary>
    public static Dictionary<string, Tensor> PublicStateDict(Wav2Vec2Model model, WeightNormNames names, string prefix)
    {
        var (gKey, vKey) = names == WeightNormNames.Legacy
            ? ("encoder.pos_conv_embed.conv.weight_g", "encoder.pos_conv_embed.conv.weight_v")
            : ("encoder.pos_conv_embed.conv.parametrizations.weight.original0", "encoder.pos_conv_embed.conv.parametrizations.weight.original1");
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, t) in model.state_dict())
        {
            if (key == Wav2Vec2Checkpoint.PosConvWeight)
            {
                result[prefix + gKey] = t.pow(2).sum([0, 1], keepdim: true).sqrt();
                // The direction's own scale must not matter: weight norm divides it out.
                result[prefix + vKey] = t * 3.5;
            }
            else
                result[prefix + key] = t.clone();
        }
        return result;
    }

    public static Tensor RandomAudio(int batch, int samples, int seed)
    {
        using var generator = new torch.Generator(checked((ulong)seed));
        return torch.randn([batch, samples], generator: generator);
    }
}
