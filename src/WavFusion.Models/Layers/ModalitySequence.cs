using TorchSharp;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Layers;

/// <summary>
/// Frame or token features of one modality, (B, T, D), with their validity mask (B, T), True = valid.
/// Sequences are right-padded: the valid frames of a sample come first. A sample whose mask row is all
/// false does not have this modality (camera off, transcript late, dropped in training).
/// </summary>
public sealed class ModalitySequence
{
    public ModalitySequence(Tensor features, Tensor? mask = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.dim() != 3)
            throw new ArgumentException($"modality features must be (batch, time, dim); got [{string.Join(", ", features.shape)}]", nameof(features));
        if (mask is not null && (mask.dim() != 2 || mask.shape[0] != features.shape[0] || mask.shape[1] != features.shape[1]))
            throw new ArgumentException(
                $"modality mask must be (batch, time) = [{features.shape[0]}, {features.shape[1]}]; got [{string.Join(", ", mask.shape)}]", nameof(mask));
        Features = features;
        Mask = mask is null
            ? torch.ones(features.shape[0], features.shape[1], dtype: ScalarType.Bool, device: features.device)
            : mask.dtype == ScalarType.Bool ? mask : mask.ne(Zero);
    }

    public Tensor Features { get; }

    public Tensor Mask { get; }

    public long Batch => Features.shape[0];

    public long Width => Features.shape[2];

    /// <summary>(B) bool: whether each sample has this modality at all.</summary>
    public Tensor Present() => Mask.any(1);

    /// <summary>The same features with the samples where <paramref name="keep"/> (B, bool) is false marked absent.</summary>
    public ModalitySequence Keep(Tensor keep) => new(Features, Mask.logical_and(keep.unsqueeze(1)));

    /// <summary>Mean over valid frames, (B, D); zero for a sample without valid frames.</summary>
    public Tensor MeanOverValid() => SequenceOps.MeanOverValid(Features, Mask);
}
