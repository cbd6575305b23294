using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;
using WavFusion.Models.Layers;

namespace WavFusion.Models.CrossModal;

/// <summary>
/// One attended stream: the query stream attends to the other stream (or to itself in the unimodal
/// baselines), with a residual connection and LayerNorm.
/// </summary>
public sealed class CrossModalBlock : nn.Module<ModalitySequence, ModalitySequence, ModalitySequence>
{
    private readonly MultiHeadAttention attention;
    private readonly LayerNorm layer_norm;
    private readonly double _dropout;

    public CrossModalBlock(long dim, int numHeads, double dropout) : base(nameof(CrossModalBlock))
    {
        attention = new MultiHeadAttention(dim, dim, dim, numHeads, dropout);
        layer_norm = nn.LayerNorm(dim);
        _dropout = dropout;
        RegisterComponents();
    }

    public override ModalitySequence forward(ModalitySequence query, ModalitySequence memory)
    {
        ArgumentNullException.ThrowIfNull(query);
        using var scope = torch.NewDisposeScope();
        var attended = attention.call(query.Features, memory);
        var output = layer_norm.call(query.Features.add(nn.functional.dropout(attended, _dropout, training), One));
        return new ModalitySequence(output.MoveToOuterDisposeScope(), query.Mask);
    }
}
