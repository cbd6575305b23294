using TorchSharp;
using WavFusion.Media;
using WavFusion.Models.Fusion;
using WavFusion.Models.Layers;
using static TorchSharp.torch;

namespace WavFusion.Inference;

/// <summary>
/// Scores batches of windows with a <see cref="ModelBundle"/>. Windows are grouped by audio length and by
/// modality subset, and each group runs as one batch of at most <see cref="MaxBatch"/>: wav2vec2-base's first
/// GroupNorm normalises over the whole padded length, so a window padded inside a batch would score differently
/// from the same window alone, and a missing modality takes its own path instead of being padded with a fake one.
/// Text and faces of different lengths in one group are padded and masked, which leaves each window's result
/// as it is alone. Thread-safe: calls are serialised on the one model.
/// </summary>
public sealed class WindowScorer
{
    private readonly ModelBundle _bundle;
    private readonly Lock _gate = new();

    public WindowScorer(ModelBundle bundle, int maxBatch = 16)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBatch);
        _bundle = bundle;
        MaxBatch = maxBatch;
    }

    public int MaxBatch { get; }

    public ModelBundle Bundle => _bundle;

    /// <summary>Scores, in the order of <paramref name="windows"/>.</summary>
    public IReadOnlyList<WindowScore> Score(IReadOnlyList<ScoringWindow> windows) => Score(windows, null);

    /// <summary>
    /// Scores, in the order of <paramref name="windows"/>, calling <paramref name="scored"/> (window index, score) as
    /// each group is done, so a caller can hand results out before the whole batch is scored. Groups run shortest
    /// audio first. The frozen audio encoder (wav2vec2's CNN and shallow layers) runs once per distinct audio array:
    /// the paths of one window that differ only in their auxiliary modalities (the per-modality scores) pass the
    /// same array and share it, and a transcript is encoded once per call however many paths carry it.
    /// </summary>
    public IReadOnlyList<WindowScore> Score(IReadOnlyList<ScoringWindow> windows, Action<int, WindowScore>? scored)
    {
        ArgumentNullException.ThrowIfNull(windows);
        for (int i = 0; i < windows.Count; i++) Check(windows[i], i);
        var scores = new WindowScore[windows.Count];
        var byLength = Enumerable.Range(0, windows.Count).GroupBy(i => windows[i].Audio.Length).OrderBy(g => g.Key);
        lock (_gate)
        {
            foreach (var sameLength in byLength)
            {
                using var mode = torch.inference_mode();
                using var scope = torch.NewDisposeScope();
                var hidden = ShallowRows(sameLength.Select(i => windows[i].Audio), out var rowOf);
                var texts = new Dictionary<string, Tensor>(StringComparer.Ordinal);
                foreach (var group in sameLength.GroupBy(i => UsableFor(windows[i])))
                {
                    foreach (var chunk in group.Chunk(MaxBatch))
                    {
                        using var rows = torch.tensor(chunk.Select(i => (long)rowOf[windows[i].Audio]).ToArray());
                        var probabilities = ScoreGroup(hidden.index_select(0, rows), chunk.Select(i => windows[i]).ToList(), group.Key, texts);
                        for (int j = 0; j < chunk.Length; j++)
                        {
                            var score = new WindowScore(probabilities[j], _bundle.Labels, group.Key);
                            scores[chunk[j]] = score;
                            scored?.Invoke(chunk[j], score);
                        }
                    }
                }
            }
        }
        return scores;
    }

    /// <summary>The modalities this bundle can use: text needs its encoder; faces need the image encoder unless given as features.</summary>
    public Modalities Usable =>
        Modalities.Audio | (_bundle.TextEncoder is null ? 0 : Modalities.Text) | (_bundle.VisualEncoder is null ? 0 : Modalities.Visual);

    private Modalities UsableFor(ScoringWindow window) =>
        window.Modalities & (Usable | (window.FaceFeatures is { Count: > 0 } ? Modalities.Visual : 0));

    /// <summary>
    /// The shallow audio (distinct, frames, hidden) of the distinct arrays among <paramref name="audio"/> (all of one
    /// length, so no padding), in batches of at most <see cref="MaxBatch"/>; <paramref name="rowOf"/> maps each array to its row.
    /// </summary>
    private Tensor ShallowRows(IEnumerable<float[]> audio, out Dictionary<float[], int> rowOf)
    {
        rowOf = new Dictionary<float[], int>(ReferenceEqualityComparer.Instance);
        var distinct = new List<float[]>();
        foreach (var a in audio)
        {
            if (rowOf.ContainsKey(a)) continue;
            rowOf[a] = distinct.Count;
            distinct.Add(a);
        }
        var device = _bundle.Device;
        var parts = new List<Tensor>();
        foreach (var chunk in distinct.Chunk(MaxBatch))
        {
            var values = torch.cat(chunk.Select(a => _bundle.FeatureExtractor.Normalize(a)).ToList(), 0).to(device);
            var shallow = _bundle.Model.EncodeShallow(values);
            parts.Add(shallow.Hidden);
            shallow.FrameMask?.Dispose();
        }
        return parts.Count == 1 ? parts[0] : torch.cat(parts, 0);
    }

    private float[][] ScoreGroup(Tensor hidden, IReadOnlyList<ScoringWindow> windows, Modalities modalities, Dictionary<string, Tensor> texts)
    {
        var device = _bundle.Device;
        var text = modalities.HasFlag(Modalities.Text)
            ? Padded(windows.Select(w => Text(w.Transcript!, texts)).ToList(), device)
            : null;
        var visual = modalities.HasFlag(Modalities.Visual)
            ? Padded(windows.Select(VisualFeatures).ToList(), device)
            : null;
        using var output = _bundle.Model.forward(WavFusionInput.FromShallow(new ShallowAudio(hidden, null), text, visual));
        var flat = output.Probabilities.to(ScalarType.Float32).cpu().data<float>().ToArray();
        int classes = _bundle.Labels.Count;
        return Enumerable.Range(0, windows.Count).Select(i => flat.AsSpan(i * classes, classes).ToArray()).ToArray();
    }

    /// <summary>The text encoder's features of <paramref name="transcript"/>, once per scoring call.</summary>
    private Tensor Text(string transcript, Dictionary<string, Tensor> texts)
    {
        if (!texts.TryGetValue(transcript, out var features)) texts[transcript] = features = _bundle.TextEncoder!.Encode(transcript);
        return features;
    }

    /// <summary>(frames, visual_dim) features of a window's faces: given, or encoded from its crops.</summary>
    private Tensor VisualFeatures(ScoringWindow window)
    {
        if (window.FaceFeatures is { Count: > 0 } given)
        {
            int width = _bundle.Model.Config.VisualDim;
            var flat = new float[given.Count * width];
            for (int i = 0; i < given.Count; i++)
            {
                if (given[i].Length != width)
                    throw new ArgumentException($"face features of frame {i} have {given[i].Length} values; the model takes visual_dim {width}");
                given[i].CopyTo(flat, i * width);
            }
            return torch.tensor(flat, [given.Count, width]);
        }
        return _bundle.VisualEncoder!.Encode(window.Faces!.Rgb, window.Faces.Size);
    }

    /// <summary>Right-padded (B, T, D) features with their (B, T) mask.</summary>
    private static ModalitySequence Padded(IReadOnlyList<Tensor> sequences, Device device)
    {
        long longest = Math.Max(1, sequences.Max(s => s.shape[0]));
        long width = sequences[0].shape[1];
        var features = torch.zeros(sequences.Count, longest, width, dtype: ScalarType.Float32);
        var mask = torch.zeros(sequences.Count, longest, dtype: ScalarType.Bool);
        for (int i = 0; i < sequences.Count; i++)
        {
            long length = sequences[i].shape[0];
            if (length == 0) continue;
            features[i, ..(int)length].copy_(sequences[i]);
            mask[i, ..(int)length].fill_(WavFusion.Core.Tensors.Scalars.One);
        }
        return new ModalitySequence(features.to(device), mask.to(device));
    }

    private void Check(ScoringWindow window, int index)
    {
        if (window is null) throw new ArgumentException($"window {index} is null");
        if (window.Audio is null || window.Audio.Length < _bundle.MinimumSamples)
            throw new ArgumentException($"window {index} has {window.Audio?.Length ?? 0} samples; the model needs at least {_bundle.MinimumSamples} (one wav2vec2 frame)");
        if (window.Faces is { Rgb.Count: > 0 } crops && crops.Size <= 0)
            throw new ArgumentException($"window {index}: face crop size {crops.Size} must be positive");
    }
}
