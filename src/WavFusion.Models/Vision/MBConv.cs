using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Vision;

/// <summary>
/// torchvision's MBConv block (<c>block</c> = [1×1 expand] → depthwise k×k → squeeze-excitation → 1×1 project),
/// with a residual connection when the block keeps stride 1 and width. In training mode the residual
/// branch is dropped per sample ("row" stochastic depth) with <see cref="StochasticDepthProbability"/>;
/// in eval mode it is the identity.
/// </summary>
public sealed class MBConv : nn.Module<Tensor, Tensor>
{
    public readonly Sequential block;

    public bool UsesResidual { get; }
    public double StochasticDepthProbability { get; }

    private readonly Scalar _survival; // 1 − p, held for the module's lifetime and disposed with it

    public MBConv(EfficientNetStage stage, bool firstInStage, double stochasticDepthProbability) : base(nameof(MBConv))
    {
        long input = firstInStage ? stage.InChannels : stage.OutChannels;
        long stride = firstInStage ? stage.Stride : 1;
        long expanded = EfficientNetStage.MakeDivisible(input * stage.ExpandRatio);

        block = nn.Sequential();
        if (expanded != input) block.append(new Conv2dNormActivation(input, expanded, 1));
        block.append(new Conv2dNormActivation(expanded, expanded, stage.Kernel, stride, groups: expanded));
        block.append(new SqueezeExcitation(expanded, Math.Max(1, input / 4)));
        block.append(new Conv2dNormActivation(expanded, stage.OutChannels, 1, activation: false));

        UsesResidual = stride == 1 && input == stage.OutChannels;
        StochasticDepthProbability = stochasticDepthProbability;
        _survival = (1 - stochasticDepthProbability).ToScalar();
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var y = block.call(input);
        if (UsesResidual)
        {
            if (training && StochasticDepthProbability > 0) y = DropRows(y);
            y.add_(input, One);
        }
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>torchvision.ops.stochastic_depth(mode="row"): zero whole samples, rescale the survivors.</summary>
    private Tensor DropRows(Tensor y)
    {
        double survival = 1 - StochasticDepthProbability;
        var keep = torch.empty([y.shape[0], 1, 1, 1], y.dtype, y.device).bernoulli_(survival);
        if (survival > 0) keep.div_(_survival);
        return y * keep;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _survival.Dispose();
        base.Dispose(disposing);
    }
}
