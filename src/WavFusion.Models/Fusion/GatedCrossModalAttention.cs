using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;
using WavFusion.Models.Layers;

namespace WavFusion.Models.Fusion;

/// <summary>
/// Gated cross-modal attention of one deep layer: F1 = MHA(q = h, kv = X^t), F2 = MHA(q = h, kv = X^v),
/// P = sigmoid(FC(F1 ⊕ F2)) per channel, F = P⊙F1 + (1 − P)⊙F2. Per sample, a missing stream drops its
/// branch (F = F1 or F = F2) and a sample with neither stream takes the layer's own self-attention, so
/// one set of weights serves every modality subset.
/// </summary>
public sealed class GatedCrossModalAttention : nn.Module<Tensor, AuxiliaryModalities, Func<Tensor, Tensor>?, Tensor>
{
    private readonly MultiHeadAttention text_attention;
    private readonly MultiHeadAttention visual_attention;
    private readonly Linear gate;

    public GatedCrossModalAttention(long hiddenDim, long textDim, long visualDim, int numHeads, double dropout = 0.0, Device? device = null)
        : base(nameof(GatedCrossModalAttention))
    {
        text_attention = new MultiHeadAttention(hiddenDim, textDim, hiddenDim, numHeads, dropout, device);
        visual_attention = new MultiHeadAttention(hiddenDim, visualDim, hiddenDim, numHeads, dropout, device);
        gate = nn.Linear(2 * hiddenDim, hiddenDim, device: device);
        RegisterComponents();
    }

    public MultiHeadAttention TextAttention => text_attention;

    public MultiHeadAttention VisualAttention => visual_attention;

    /// <summary>
    /// Starts both branches' query and output projections from the pretrained layer's self-attention;
    /// the key/value projections (from the text and visual widths) keep their fresh initialisation.
    /// </summary>
    public void InitialiseFrom(nn.Module pretrainedSelfAttention)
    {
        text_attention.InitialiseQueryAndOutput(pretrainedSelfAttention);
        visual_attention.InitialiseQueryAndOutput(pretrainedSelfAttention);
    }

    /// <param name="hidden">Audio hidden state h, (B, T, H).</param>
    /// <param name="auxiliary">Encoded text and visual streams.</param>
    /// <param name="selfAttention">The layer's own attention, used for samples with neither stream; may be
    /// null only when every sample has at least one.</param>
    public override Tensor forward(Tensor hidden, AuxiliaryModalities auxiliary, Func<Tensor, Tensor>? selfAttention)
    {
        ArgumentNullException.ThrowIfNull(auxiliary);
        using var scope = torch.NewDisposeScope();
        var (hasText, hasVisual) = auxiliary.Presence(hidden.shape[0], hidden.device);
        hasText = hasText.view(-1, 1, 1);
        hasVisual = hasVisual.view(-1, 1, 1);

        var f1 = auxiliary.Text is null ? null : text_attention.call(hidden, auxiliary.Text);
        var f2 = auxiliary.Visual is null ? null : visual_attention.call(hidden, auxiliary.Visual);

        var fused = torch.zeros_like(hidden);
        if (f1 is not null && f2 is not null)
        {
            var p = torch.sigmoid(gate.call(torch.cat(new[] { f1, f2 }, -1)));
            fused = torch.where(hasText.logical_and(hasVisual), (p * f1).add(p.neg().add(One, One) * f2, One), fused);
        }
        if (f1 is not null) fused = torch.where(hasText.logical_and(hasVisual.logical_not()), f1, fused);
        if (f2 is not null) fused = torch.where(hasVisual.logical_and(hasText.logical_not()), f2, fused);

        var neither = hasText.logical_or(hasVisual).logical_not();
        if (neither.any().item<bool>())
        {
            if (selfAttention is null)
                throw new ArgumentException("a sample has neither text nor visual input and no self-attention fallback was given", nameof(selfAttention));
            fused = torch.where(neither, selfAttention(hidden), fused);
        }
        return fused.MoveToOuterDisposeScope();
    }
}
