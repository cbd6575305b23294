using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace WavFusion.Models.Text;

/// <summary>tanh(dense(h[:, 0])): the first token's pooled vector (HF BertPooler / RobertaPooler).</summary>
public sealed class BertPooler : nn.Module<Tensor, Tensor>
{
    public readonly Linear dense;

    public BertPooler(TextEncoderConfig config) : base(nameof(BertPooler))
    {
        dense = nn.Linear(config.HiddenSize, config.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor lastHiddenState)
    {
        using var scope = torch.NewDisposeScope();
        return dense.forward(lastHiddenState[.., 0]).tanh().MoveToOuterDisposeScope();
    }
}
