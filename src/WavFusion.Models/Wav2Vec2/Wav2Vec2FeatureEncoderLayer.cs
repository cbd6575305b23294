using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Wav2Vec2;

/// <summary>
/// One conv block of the feature encoder: Conv1d → norm → GELU. The norm is GroupNorm(C, C) on the
/// first layer of the group-norm family, LayerNorm over channels on every layer of the layer-norm
/// family, and absent otherwise (HF's NoLayerNorm/GroupNorm/LayerNorm conv layers).
/// </summary>
public sealed class Wav2Vec2FeatureEncoderLayer : nn.Module<Tensor, Tensor>
{
    private readonly Conv1d conv;
    // At most one norm exists; both carry the checkpoint key "layer_norm" whatever their type.
    [ComponentName(Name = "layer_norm")] private readonly GroupNorm? groupNorm;
    [ComponentName(Name = "layer_norm")] private readonly LayerNorm? layerNorm;

    public Wav2Vec2FeatureEncoderLayer(Wav2Vec2Config config, int index, Device? device = null) : base(nameof(Wav2Vec2FeatureEncoderLayer))
    {
        long inChannels = index == 0 ? 1 : config.ConvDim[index - 1];
        long outChannels = config.ConvDim[index];
        conv = nn.Conv1d(inChannels, outChannels, config.ConvKernel[index], stride: config.ConvStride[index], bias: config.ConvBias, device: device);
        if (config.UsesLayerNormFeatureEncoder)
        {
            layerNorm = nn.LayerNorm(outChannels, eps: 1e-5, device: device);
        }
        else if (index == 0)
        {
            groupNorm = nn.GroupNorm(outChannels, outChannels, eps: 1e-5, affine: true, device: device);
            // TorchSharp 0.107 leaves GroupNorm's affine parameters uninitialised (NaN seen); use PyTorch's ones/zeros.
            using (torch.no_grad())
            {
                groupNorm.weight!.fill_(One);
                groupNorm.bias!.zero_();
            }
        }
        RegisterComponents();
    }

    /// <summary>(B, C_in, L) → (B, C_out, L').</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var x = conv.forward(input);
        if (groupNorm is not null) x = groupNorm.forward(x);
        else if (layerNorm is not null) x = layerNorm.forward(x.transpose(1, 2)).transpose(1, 2);
        return InferenceActivations.Gelu(x).MoveToOuterDisposeScope();
    }
}
