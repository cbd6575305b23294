using WavFusion.Models.Layers;

namespace WavFusion.Models.Branches;

/// <summary>
/// Text branch X^t: frozen RoBERTa token features (B, Tt, 768) → bidirectional GRU (384 per direction by
/// default) → multi-head self-attention with residual and LayerNorm.
/// </summary>
public sealed class TextBranch : AttentiveGru
{
    public TextBranch(long inputDim = 768, long hiddenPerDirection = 384, int numHeads = 8, double dropout = 0.1, TorchSharp.torch.Device? device = null)
        : base(inputDim, hiddenPerDirection, bidirectional: true, numHeads, dropout, device)
    {
    }
}
