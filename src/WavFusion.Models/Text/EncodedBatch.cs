using static TorchSharp.torch;

namespace WavFusion.Models.Text;

/// <summary>
/// A tokenised, padded batch: <see cref="InputIds"/>, <see cref="AttentionMask"/> (1 real, 0 padding) and
/// <see cref="TokenTypeIds"/> (segment of each token; all 0 for RoBERTa), each (B, T) int64 with T the
/// longest row after truncation.
/// </summary>
public sealed record EncodedBatch(Tensor InputIds, Tensor AttentionMask, Tensor TokenTypeIds) : IDisposable
{
    public void Dispose()
    {
        InputIds.Dispose();
        AttentionMask.Dispose();
        TokenTypeIds.Dispose();
    }
}
