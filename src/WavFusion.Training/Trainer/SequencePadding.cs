using TorchSharp;
using WavFusion.Models.Fusion;
using static TorchSharp.torch;
using WavFusion.Models.Layers;

namespace WavFusion.Training.Trainer;

/// <summary>Right-pads per-item (time, width) tensors into (B, T, width) with a (B, T) validity mask; a missing or empty item is an all-false row.</summary>
public static class SequencePadding
{
    public static (Tensor Padded, Tensor Mask) Pad(IReadOnlyList<Tensor?> sequences, string name, long width, Device device)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        long longest = Math.Max(1, sequences.Max(s => s?.shape[0] ?? 0));
        var padded = torch.zeros(sequences.Count, longest, width, dtype: ScalarType.Float32);
        var mask = new bool[sequences.Count * longest];
        for (int i = 0; i < sequences.Count; i++)
        {
            if (sequences[i] is not { } s || s.shape[0] == 0) continue;
            if (s.shape[1] != width) throw new ArgumentException($"{name} of batch item {i} has width {s.shape[1]}; expected {width}");
            padded[i].narrow(0, 0, s.shape[0]).copy_(s);
            mask.AsSpan((int)(i * longest), (int)s.shape[0]).Fill(true);
        }
        return (padded.to(device), torch.tensor(mask, [sequences.Count, longest], device: device));
    }

    /// <summary>One modality of a batch, checked to be (time, <paramref name="width"/>) per item; null when no item has it.</summary>
    public static ModalitySequence? Modality(IReadOnlyList<ITrainingItem> items, Func<ITrainingItem, Tensor?> select, string name, int width, Device device)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(select);
        var streams = items.Select(select).ToArray();
        if (streams.All(s => s is null || s.shape[0] == 0)) return null;
        for (int i = 0; i < streams.Length; i++)
            if (streams[i] is { } s && (s.dim() != 2 || s.shape[1] != width))
                throw new ArgumentException($"item '{items[i].Id}': {name} features must be (time, {width}); got [{string.Join(", ", s.shape)}]");
        var (features, mask) = Pad(streams, name, width, device);
        return new ModalitySequence(features, mask);
    }

    public static Tensor Labels(IReadOnlyList<ITrainingItem> items, Device device) =>
        torch.tensor(items.Select(i => (long)i.Label).ToArray(), device: device);
}
