using TorchSharp;
using static TorchSharp.torch;

namespace WavFusion.Models.Text;

/// <summary>Self-attention followed by its output block (HF BertAttention: fields <c>self</c>, <c>output</c>).</summary>
public sealed class BertAttention : nn.Module<Tensor, Tensor, Tensor>
{
    public readonly BertSelfAttention self;
    public readonly BertSelfOutput output;

    public BertAttention(TextEncoderConfig config) : base(nameof(BertAttention))
    {
        self = new BertSelfAttention(config);
        output = new BertSelfOutput(config);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor additiveMask)
    {
        using var scope = torch.NewDisposeScope();
        var context = self.forward(hidden, additiveMask);
        return output.forward(context, hidden).MoveToOuterDisposeScope();
    }
}
