using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace WavFusion.Models.Text;

/// <summary>First feed-forward projection and activation (HF BertIntermediate).</summary>
public sealed class BertIntermediate : nn.Module<Tensor, Tensor>
{
    public readonly Linear dense;

    private readonly Func<Tensor, Tensor> _activation;

    public BertIntermediate(TextEncoderConfig config) : base(nameof(BertIntermediate))
    {
        _activation = TextActivation.Resolve(config.HiddenAct, "config");
        dense = nn.Linear(config.HiddenSize, config.IntermediateSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden)
    {
        using var scope = torch.NewDisposeScope();
        return _activation(dense.forward(hidden)).MoveToOuterDisposeScope();
    }
}
