using TorchSharp;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;
using WavFusion.Models.Layers;

namespace WavFusion.Models.Fusion;

/// <summary>
/// Training-time modality dropout: each sample independently loses its text and its visual stream with
/// probability <see cref="Probability"/> each (both together with probability p²), so the gated,
/// single-stream and self-attention paths are all trained. Audio is the primary modality and is never
/// dropped. Draws come from the (CPU) generator it is given, so a seeded generator reproduces them on any device.
/// </summary>
public sealed class ModalityDropout
{
    private readonly Generator _generator;

    public ModalityDropout(double probability, Generator generator)
    {
        if (probability is < 0 or > 1 || double.IsNaN(probability))
            throw new ArgumentOutOfRangeException(nameof(probability), probability, "modality dropout probability must lie in [0, 1]");
        ArgumentNullException.ThrowIfNull(generator);
        Probability = probability;
        _generator = generator;
    }

    public double Probability { get; }

    public AuxiliaryModalities Apply(AuxiliaryModalities auxiliary)
    {
        ArgumentNullException.ThrowIfNull(auxiliary);
        return new AuxiliaryModalities(Drop(auxiliary.Text), Drop(auxiliary.Visual));
    }

    /// <summary>The stream with the dropped samples' masks cleared.</summary>
    private ModalitySequence? Drop(ModalitySequence? stream)
    {
        if (stream is null) return null;
        using var scope = torch.NewDisposeScope();
        using var threshold = Probability.ToScalar();
        var keep = torch.rand(stream.Batch, device: torch.CPU, generator: _generator).ge(threshold).to(stream.Mask.device);
        var kept = stream.Keep(keep);
        return new ModalitySequence(stream.Features, kept.Mask.MoveToOuterDisposeScope());
    }
}
