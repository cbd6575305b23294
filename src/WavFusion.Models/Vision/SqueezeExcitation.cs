using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace WavFusion.Models.Vision;

/// <summary>
/// torchvision's SqueezeExcitation with EfficientNet's activations: global average pool, 1×1 conv
/// <c>fc1</c> (with bias), SiLU, 1×1 conv <c>fc2</c>, sigmoid, channel-wise rescale of the input.
/// </summary>
public sealed class SqueezeExcitation : nn.Module<Tensor, Tensor>
{
    public readonly Conv2d fc1;
    public readonly Conv2d fc2;

    public SqueezeExcitation(long channels, long squeezeChannels) : base(nameof(SqueezeExcitation))
    {
        fc1 = nn.Conv2d(channels, squeezeChannels, 1);
        fc2 = nn.Conv2d(squeezeChannels, channels, 1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        using var scope = torch.NewDisposeScope();
        var s = input.mean([2, 3], keepdim: true);
        s = fc1.call(s).silu_();
        s = fc2.call(s).sigmoid_();
        return (input * s).MoveToOuterDisposeScope();
    }
}
