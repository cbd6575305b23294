using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Layers;

/// <summary>
/// Multi-head attention with separate q/k/v/out projections (TorchSharp's MultiheadAttention packs them
/// into one in_proj_weight, which cannot be initialised from a wav2vec2 layer's q_proj/out_proj).
/// Queries have width <c>queryDim</c>, keys/values come from a memory of width <c>memoryDim</c>; the output
/// has the query's width so it can replace a self-attention output.
/// </summary>
public sealed class MultiHeadAttention : nn.Module<Tensor, ModalitySequence, Tensor>
{
    private readonly Linear q_proj;
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear out_proj;
    private readonly double _dropout;
    private readonly Scalar _scale; // 1/√d, held for the module's lifetime and disposed with it

    public MultiHeadAttention(long queryDim, long memoryDim, long embedDim, int numHeads, double dropout = 0.0, Device? device = null)
        : base(nameof(MultiHeadAttention))
    {
        if (numHeads <= 0 || embedDim % numHeads != 0)
            throw new ArgumentException($"attention width {embedDim} is not divisible by {numHeads} heads", nameof(numHeads));
        NumHeads = numHeads;
        HeadDim = embedDim / numHeads;
        _scale = (1.0 / Math.Sqrt(HeadDim)).ToScalar();
        _dropout = dropout;
        q_proj = nn.Linear(queryDim, embedDim, device: device);
        k_proj = nn.Linear(memoryDim, embedDim, device: device);
        v_proj = nn.Linear(memoryDim, embedDim, device: device);
        out_proj = nn.Linear(embedDim, queryDim, device: device);
        RegisterComponents();
    }

    public int NumHeads { get; }

    public long HeadDim { get; }

    /// <summary>
    /// Attends from <paramref name="query"/> (B, Tq, queryDim) to <paramref name="memory"/>; masked memory
    /// frames get no weight. A sample whose memory is entirely masked attends uniformly (finite output);
    /// callers route such samples elsewhere.
    /// </summary>
    public override Tensor forward(Tensor query, ModalitySequence memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        using var scope = torch.NewDisposeScope();
        var (b, tq) = (query.shape[0], query.shape[1]);
        var tk = memory.Features.shape[1];
        var q = q_proj.call(query).mul(_scale).view(b, tq, NumHeads, HeadDim).transpose(1, 2);
        var k = k_proj.call(memory.Features).view(b, tk, NumHeads, HeadDim).transpose(1, 2);
        var v = v_proj.call(memory.Features).view(b, tk, NumHeads, HeadDim).transpose(1, 2);
        var scores = q.matmul(k.transpose(-1, -2));
        var blocked = memory.Mask.logical_not().view(b, 1, 1, tk);
        scores = scores.masked_fill(blocked, Lowest(scores.dtype));
        var weights = nn.functional.dropout(torch.softmax(scores, -1), _dropout, training);
        var context = weights.matmul(v).transpose(1, 2).reshape(b, tq, NumHeads * HeadDim);
        return out_proj.call(context).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Copies the query and output projections of a pretrained attention module that names them
    /// <c>q_proj</c> and <c>out_proj</c> (wav2vec2, and this class); shapes must match.
    /// </summary>
    public void InitialiseQueryAndOutput(nn.Module pretrainedAttention)
    {
        ArgumentNullException.ThrowIfNull(pretrainedAttention);
        var source = pretrainedAttention.state_dict();
        var target = state_dict();
        using var _ = torch.no_grad();
        foreach (var key in new[] { "q_proj.weight", "q_proj.bias", "out_proj.weight", "out_proj.bias" })
        {
            if (!source.TryGetValue(key, out var s))
                throw new ArgumentException($"the pretrained attention has no '{key}' to initialise from", nameof(pretrainedAttention));
            var t = target[key];
            if (!s.shape.SequenceEqual(t.shape))
                throw new ArgumentException(
                    $"{key}: pretrained [{string.Join(", ", s.shape)}] does not match [{string.Join(", ", t.shape)}]", nameof(pretrainedAttention));
            t.copy_(s);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _scale.Dispose();
        base.Dispose(disposing);
    }
}
