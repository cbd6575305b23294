using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace WavFusion.Models.Vision;

/// <summary>
/// torchvision's Conv2dNormActivation: bias-free convolution ("0"), BatchNorm ("1"), optional SiLU.
/// Derives from Sequential so the children carry torchvision's "0"/"1" keys, but runs its own forward so
/// SiLU can work in place on the fresh BatchNorm output (Sequential disposes intermediates, which would
/// free a tensor an in-place activation returns).
/// </summary>
public sealed class Conv2dNormActivation : Sequential
{
    public const double BatchNormEps = 1e-5;

    private readonly Conv2d _conv;
    private readonly BatchNorm2d _norm;
    private readonly bool _activation;

    public Conv2dNormActivation(long inChannels, long outChannels, long kernel, long stride = 1, long groups = 1, bool activation = true)
        : this(nn.Conv2d(inChannels, outChannels, kernel, stride: stride, padding: (kernel - 1) / 2, groups: groups, bias: false),
               new BatchNorm2d(outChannels, eps: BatchNormEps), activation)
    {
    }

    private Conv2dNormActivation(Conv2d conv, BatchNorm2d norm, bool activation) : base(conv, norm)
    {
        _conv = conv;
        _norm = norm;
        _activation = activation;
    }

    public override Tensor forward(Tensor tensor)
    {
        using var scope = torch.NewDisposeScope();
        var y = _norm.call(_conv.call(tensor));
        return (_activation ? y.silu_() : y).MoveToOuterDisposeScope();
    }
}
