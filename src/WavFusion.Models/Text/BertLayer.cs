using TorchSharp;
using static TorchSharp.torch;

namespace WavFusion.Models.Text;

/// <summary>One post-LN transformer layer: h = LN(h + Attn(h)); h = LN(h + FFN(h)) (HF BertLayer / RobertaLayer).</summary>
public sealed class BertLayer : nn.Module<Tensor, Tensor, Tensor>
{
    public readonly BertAttention attention;
    public readonly BertIntermediate intermediate;
    public readonly BertOutput output;

    public BertLayer(TextEncoderConfig config) : base(nameof(BertLayer))
    {
        attention = new BertAttention(config);
        intermediate = new BertIntermediate(config);
        output = new BertOutput(config);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden, Tensor additiveMask)
    {
        using var scope = torch.NewDisposeScope();
        var attended = attention.forward(hidden, additiveMask);
        return output.forward(intermediate.forward(attended), attended).MoveToOuterDisposeScope();
    }
}
