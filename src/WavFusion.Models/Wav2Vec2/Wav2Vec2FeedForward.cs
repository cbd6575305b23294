using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace WavFusion.Models.Wav2Vec2;

/// <summary>Position-wise feed-forward block: dense → GELU → dropout → dense → dropout.</summary>
public sealed class Wav2Vec2FeedForward : nn.Module<Tensor, Tensor>
{
    private readonly Dropout intermediate_dropout;
    public readonly Linear intermediate_dense;
    public readonly Linear output_dense;
    private readonly Dropout output_dropout;

    /// <summary>How the dense layers run on the CPU (<see cref="FrameLinear"/>).</summary>
    public FrameLinearPath FrameLinearPath { get; }

    public Wav2Vec2FeedForward(Wav2Vec2Config config, Device? device = null, FrameLinearPath frameLinear = FrameLinearPath.Auto)
        : base(nameof(Wav2Vec2FeedForward))
    {
        FrameLinearPath = frameLinear;
        intermediate_dropout = nn.Dropout(config.ActivationDropout);
        intermediate_dense = nn.Linear(config.HiddenSize, config.IntermediateSize, device: device);
        output_dense = nn.Linear(config.IntermediateSize, config.HiddenSize, device: device);
        output_dropout = nn.Dropout(config.HiddenDropout);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        using var scope = torch.NewDisposeScope();
        var x = intermediate_dropout.forward(InferenceActivations.Gelu(FrameLinear.Apply(intermediate_dense, hidden, FrameLinearPath)));
        return output_dropout.forward(FrameLinear.Apply(output_dense, x, FrameLinearPath)).MoveToOuterDisposeScope();
    }
}
