using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Layers;

/// <summary>
/// GRU over the valid frames, then multi-head self-attention with a residual connection and LayerNorm:
/// the text branch and the A-GRU half of the visual block share this structure.
/// </summary>
public class AttentiveGru : nn.Module<ModalitySequence, ModalitySequence>
{
    private readonly GRU gru;
    private readonly MultiHeadAttention attention;
    private readonly LayerNorm layer_norm;
    private readonly double _dropout;

    public AttentiveGru(long inputDim, long hiddenPerDirection, bool bidirectional, int numHeads, double dropout, Device? device = null)
        : base(nameof(AttentiveGru))
    {
        OutputDim = hiddenPerDirection * (bidirectional ? 2 : 1);
        _dropout = dropout;
        gru = nn.GRU(inputDim, hiddenPerDirection, batchFirst: true, bidirectional: bidirectional, device: device);
        attention = new MultiHeadAttention(OutputDim, OutputDim, OutputDim, numHeads, dropout, device);
        layer_norm = nn.LayerNorm(OutputDim, device: device);
        RegisterComponents();
    }

    public long OutputDim { get; }

    /// <returns>(B, T, OutputDim) with the input's mask; padded frames are zero.</returns>
    public override ModalitySequence forward(ModalitySequence input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var scope = torch.NewDisposeScope();
        var recurrent = SequenceOps.RunGru(gru, input.Features, input.Mask);
        var attended = attention.call(recurrent, new ModalitySequence(recurrent, input.Mask));
        var output = layer_norm.call(recurrent.add(nn.functional.dropout(attended, _dropout, training), One))
                     * input.Mask.to(recurrent.dtype).unsqueeze(-1);
        return new ModalitySequence(output.MoveToOuterDisposeScope(), input.Mask);
    }
}
