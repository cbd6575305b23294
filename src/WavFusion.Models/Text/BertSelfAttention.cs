using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Text;

/// <summary>Multi-head scaled dot-product self-attention with separate q/k/v projections (HF BertSelfAttention).</summary>
public sealed class BertSelfAttention : nn.Module<Tensor, Tensor, Tensor>
{
    public readonly Linear query;
    public readonly Linear key;
    public readonly Linear value;

    private readonly double _dropout;
    private readonly Scalar _sqrtHeadDim; // held for the module's lifetime and disposed with it

    public int NumHeads { get; }
    public int HeadDim { get; }

    public BertSelfAttention(TextEncoderConfig config) : base(nameof(BertSelfAttention))
    {
        NumHeads = config.NumAttentionHeads;
        HeadDim = config.HeadDim;
        _sqrtHeadDim = Math.Sqrt(HeadDim).ToScalar();
        _dropout = config.AttentionProbsDropoutProb;
        query = nn.Linear(config.HiddenSize, config.HiddenSize);
        key = nn.Linear(config.HiddenSize, config.HiddenSize);
        value = nn.Linear(config.HiddenSize, config.HiddenSize);
        RegisterComponents();
    }

    /// <param name="hidden">(B, T, H).</param>
    /// <param name="additiveMask">(B, 1, 1, T) added to the scores: 0 for real keys, a large negative value for padding.</param>
    /// <returns>(B, T, H) context before the output projection.</returns>
    public override Tensor forward(Tensor hidden, Tensor additiveMask)
    {
        using var scope = torch.NewDisposeScope();
        long b = hidden.shape[0], t = hidden.shape[1];
        Tensor Heads(Linear proj) => proj.forward(hidden).view(b, t, NumHeads, HeadDim).transpose(1, 2);
        var q = Heads(query);
        var k = Heads(key);
        var v = Heads(value);
        var scores = torch.matmul(q, k.transpose(-1, -2)).div(_sqrtHeadDim).add(additiveMask, One);
        var probs = nn.functional.dropout(scores.softmax(-1), _dropout, training);
        var context = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, NumHeads * HeadDim);
        return context.MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _sqrtHeadDim.Dispose();
        base.Dispose(disposing);
    }
}
