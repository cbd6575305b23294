using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace WavFusion.Models.Fusion;

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

    public MultiHeadAttention(long queryDim, long memoryDim, long embedDim, int numHeads, double dropout = 0.0)
        : base(nameof(MultiHeadAttention))
    {
        if (numHeads <= 0 || embedDim % numHeads != 0)
            throw new ArgumentException($"attention width {embedDim} is not divisible by {numHeads} heads", nameof(numHeads));
        NumHeads = numHeads;
        HeadDim = embedDim / numHeads;
        _dropout = dropout;
        q_proj = nn.Linear(queryDim, embedDim);
        k_proj = nn.Linear(memoryDim, embedDim);
        v_proj = nn.Linear(memoryDim, embedDim);
        out_proj = nn.Linear(embedDim, queryDim);
        RegisterComponents();
    }

    public int NumHeads { get; }

    public long HeadDim { get; }

    public Linear QueryProjection => q_proj;

    public Linear OutputProjection => out_proj;

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
        var q = q_proj.call(query).mul(1.0 / Math.Sqrt(HeadDim)).view(b, tq, NumHeads, HeadDim).transpose(1, 2);
        var k = k_proj.call(memory.Features).view(b, tk, NumHeads, HeadDim).transpose(1, 2);
        var v = v_proj.call(memory.Features).view(b, tk, NumHeads, HeadDim).transpose(1, 2);
        var scores = q.matmul(k.transpose(-1, -2));
        var blocked = memory.Mask.logical_not().view(b, 1, 1, tk);
        scores = scores.masked_fill(blocked, torch.finfo(scores.dtype).min);
        var weights = nn.functional.dropout(torch.softmax(scores, -1), _dropout, training);
        var context = weights.matmul(v).transpose(1, 2).reshape(b, tq, NumHeads * HeadDim);
        return out_proj.call(context).MoveToOuterDisposeScope();
    }

    /// <summary>Copies a pretrained attention's query and output projections (same shapes required).</summary>
    public void InitialiseQueryAndOutput(Linear pretrainedQuery, Linear pretrainedOutput)
    {
        ArgumentNullException.ThrowIfNull(pretrainedQuery);
        ArgumentNullException.ThrowIfNull(pretrainedOutput);
        CopyLinear(pretrainedQuery, q_proj, "q_proj");
        CopyLinear(pretrainedOutput, out_proj, "out_proj");
    }

    private static void CopyLinear(Linear source, Linear target, string what)
    {
        if (!source.weight!.shape.SequenceEqual(target.weight!.shape))
            throw new ArgumentException(
                $"{what}: pretrained weight [{string.Join(", ", source.weight.shape)}] does not match [{string.Join(", ", target.weight.shape)}]");
        using var _ = torch.no_grad();
        target.weight.copy_(source.weight);
        if (source.bias is not null && target.bias is not null) target.bias.copy_(source.bias);
        else if (target.bias is not null) target.bias.zero_();
    }
}
