using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Text;

/// <summary>Attention output projection, residual and post-LayerNorm (HF BertSelfOutput).</summary>
public sealed class BertSelfOutput : nn.Module<Tensor, Tensor, Tensor>
{
    public readonly Linear dense;
    public readonly LayerNorm LayerNorm;

    private readonly double _dropout;

    public BertSelfOutput(TextEncoderConfig config) : base(nameof(BertSelfOutput))
    {
        _dropout = config.HiddenDropoutProb;
        dense = nn.Linear(config.HiddenSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    /// <returns>LayerNorm(residual + dropout(dense(context))).</returns>
    public override Tensor forward(Tensor context, Tensor residual)
    {
        using var scope = torch.NewDisposeScope();
        var h = nn.functional.dropout(dense.forward(context), _dropout, training);
        return LayerNorm.forward(h.add(residual, One)).MoveToOuterDisposeScope();
    }
}
