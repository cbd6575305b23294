using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace WavFusion.Models.Wav2Vec2;

/// <summary>LayerNorm over the conv features, then a linear map to the transformer width.</summary>
public sealed class Wav2Vec2FeatureProjection : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm layer_norm;
    private readonly Linear projection;
    private readonly Dropout dropout;

    /// <summary>How the projection runs on the CPU (<see cref="FrameLinear"/>).</summary>
    public FrameLinearPath FrameLinearPath { get; }

    public Wav2Vec2FeatureProjection(Wav2Vec2Config config, Device? device = null, FrameLinearPath frameLinear = FrameLinearPath.Auto)
        : base(nameof(Wav2Vec2FeatureProjection))
    {
        FrameLinearPath = frameLinear;
        layer_norm = nn.LayerNorm(config.ExtractDim, eps: config.LayerNormEps, device: device);
        projection = nn.Linear(config.ExtractDim, config.HiddenSize, device: device);
        dropout = nn.Dropout(config.FeatProjDropout);
        RegisterComponents();
    }

    /// <summary>(B, T, conv_dim[-1]) → (B, T, hidden).</summary>
    public override Tensor forward(Tensor features)
    {
        using var scope = torch.NewDisposeScope();
        return dropout.forward(FrameLinear.Apply(projection, layer_norm.forward(features), FrameLinearPath)).MoveToOuterDisposeScope();
    }
}
