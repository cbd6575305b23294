using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Text;

/// <summary>Second feed-forward projection, residual and post-LayerNorm (HF BertOutput).</summary>
public sealed class BertOutput : nn.Module<Tensor, Tensor, Tensor>
{
    public readonly Linear dense;
    public readonly LayerNorm LayerNorm;

    private readonly double _dropout;

    public BertOutput(TextEncoderConfig config) : base(nameof(BertOutput))
    {
        _dropout = config.HiddenDropoutProb;
        dense = nn.Linear(config.IntermediateSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    /// <returns>LayerNorm(residual + dropout(dense(intermediate))).</returns>
    public override Tensor forward(Tensor intermediate, Tensor residual)
    {
        using var scope = torch.NewDisposeScope();
        var h = nn.functional.dropout(dense.forward(intermediate), _dropout, training);
        return LayerNorm.forward(h.add(residual, One)).MoveToOuterDisposeScope();
    }
}
