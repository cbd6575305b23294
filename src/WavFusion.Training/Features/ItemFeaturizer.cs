using WavFusion.Inference.Encoders;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using WavFusion.Core.Audio;
using WavFusion.Training.Cache;
using WavFusion.Training.Data;
using WavFusion.Training.Trainer;
using static TorchSharp.torch;

namespace WavFusion.Training.Features;

/// <summary>
/// Turns corpus items into training items: audio at 16 kHz mono cut to the item, and the frozen text and
/// visual encoders' features, computed once through the <see cref="FeatureCache"/> (kinds
/// <see cref="TextKind"/> and <see cref="VisualKind"/>, keyed by the encoder's model hash and the item's
/// id plus its text or video source and sampling). With a cache nothing but names stays in memory:
/// <see cref="PreparedItem"/> reads its features back and decodes its audio when asked. Without a cache the
/// features are kept in memory (fine for small corpora; pass a cache for IEMOCAP or MELD).
/// </summary>
public sealed class ItemFeaturizer
{
    public const string TextKind = "text-features";
    public const string VisualKind = "visual-features";
    public const int SampleRate = 16000;

    private const string FeaturesTensor = "features";

    private readonly ITextFeatureEncoder? _text;
    private readonly IVisualFeatureEncoder? _visual;
    private readonly FeatureCache? _cache;
    private readonly VideoSampling _sampling;

    public ItemFeaturizer(ITextFeatureEncoder? text, IVisualFeatureEncoder? visual, FeatureCache? cache, VideoSampling? sampling = null)
    {
        _text = text;
        _visual = visual;
        _cache = cache;
        _sampling = sampling ?? new VideoSampling();
    }

    /// <summary>
    /// Prepares <paramref name="items"/> in order. Audio is always provided (it is the model's primary stream);
    /// text and visual features only for the modalities asked for (null otherwise, and null visual for an item
    /// without video, which is a warning). An item whose audio file is missing or not audio, or whose video
    /// cannot be decoded, is a skip in <paramref name="report"/> (with the reason) and is left out.
    /// </summary>
    public IReadOnlyList<ITrainingItem> Prepare(IReadOnlyList<EmotionItem> items, IReadOnlySet<Modality> modalities,
        DatasetReport report, IProgress<(int Done, int Total)>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(modalities);
        ArgumentNullException.ThrowIfNull(report);
        bool wantText = modalities.Contains(Modality.Text), wantVisual = modalities.Contains(Modality.Visual);
        if (wantText && _text is null) throw new ArgumentException("text features are asked for but the featurizer has no text encoder", nameof(modalities));
        if (wantVisual && _visual is null) throw new ArgumentException("visual features are asked for but the featurizer has no visual encoder", nameof(modalities));

        var prepared = new List<ITrainingItem>(items.Count);
        for (int i = 0; i < items.Count; i++)
        {
            var item = items[i];
            try
            {
                string audioKey = AudioKey(item);
                var text = wantText ? Features(TextKind, _text!.ModelHash, TextKey(item), () => _text.Encode(item.Text)) : NoFeatures;
                Func<Tensor?> visual = NoFeatures;
                if (wantVisual && item.Video is { } video)
                    visual = Features(VisualKind, _visual!.ModelHash, VisualKey(item.Id, video), () => _visual.Encode(VideoFrames.Read(video, _sampling), _sampling.Size));
                else if (wantVisual)
                    report.Warn(item.Id, "no video: the item has audio and text only");
                prepared.Add(new PreparedItem(item.Id, item.LabelIndex, audioKey, () => LoadAudio(item.Audio), text, visual));
            }
            catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
            {
                report.Skip(item.Id, e.Message);
            }
            progress?.Report((i + 1, items.Count));
        }
        return prepared;
    }

    /// <summary>The cut of an item's audio as 16 kHz mono; throws naming the file when it cannot be read or the cut is empty.</summary>
    public static float[] LoadAudio(AudioSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.StartSeconds is null && source.EndSeconds is null) return NonEmpty(AudioFile.Load(source.Path, SampleRate).Samples, source);
        if (!source.Path.EndsWith(".wav", StringComparison.OrdinalIgnoreCase))
            return NonEmpty(AudioFile.DecodeWithFfmpeg(source.Path, SampleRate, source.StartSeconds, source.DurationSeconds).Samples, source);
        var samples = AudioFile.Load(source.Path, SampleRate).Samples;
        int from = Math.Clamp((int)Math.Round((source.StartSeconds ?? 0) * SampleRate), 0, samples.Length);
        int to = source.EndSeconds is { } end ? Math.Clamp((int)Math.Round(end * SampleRate), from, samples.Length) : samples.Length;
        return NonEmpty(samples[from..to], source);
    }

    private static float[] NonEmpty(float[] samples, AudioSource source) =>
        samples.Length > 0
            ? samples
            : throw new InvalidDataException($"{source.Path}: no audio samples in [{source.StartSeconds ?? 0}, {source.EndSeconds?.ToString(CultureInfo.InvariantCulture) ?? "end"}) s");

    private static Tensor? NoFeatures() => null;

    /// <summary>
    /// Computes the features now unless the cache holds them, so a broken medium shows at preparation without
    /// a warm run reading every entry; with a cache the item reads them back when asked, without one it keeps them.
    /// </summary>
    private Func<Tensor?> Features(string kind, string modelHash, string key, Func<Tensor> encode)
    {
        if (_cache is null)
        {
            var kept = encode();
            return () => kept;
        }
        Dictionary<string, Tensor> Read() => _cache.GetOrCompute(kind, modelHash, key, () => new Dictionary<string, Tensor> { [FeaturesTensor] = encode() });
        if (!_cache.Contains(kind, modelHash, key))
            foreach (var t in Read().Values) t.Dispose();
        return () =>
        {
            var entry = Read();
            if (!entry.TryGetValue(FeaturesTensor, out var features))
                throw new InvalidDataException($"{_cache.Root}: {kind} entry '{key}' has no '{FeaturesTensor}' tensor");
            return features;
        };
    }

    /// <summary>Id, file, size, modification time and cut: changes whenever the audio may have; checks the file is audio at all.</summary>
    private static string AudioKey(EmotionItem item)
    {
        var a = item.Audio;
        if (a.Path.EndsWith(".wav", StringComparison.OrdinalIgnoreCase))
        {
            if (WavHeader.Problem(a.Path) is { } problem) throw new InvalidDataException($"{a.Path}: {problem}");
        }
        else if (!File.Exists(a.Path)) throw new FileNotFoundException($"{a.Path}: audio file missing", a.Path);
        if (a is { StartSeconds: { } s, EndSeconds: { } e } && !(e > s)) throw new InvalidDataException($"{a.Path}: the audio cut [{s}, {e}) s is empty");
        return string.Join('|', item.Id, Path.GetFullPath(a.Path), FileStamp(a.Path), Seconds(a.StartSeconds), Seconds(a.EndSeconds));
    }

    private static string TextKey(EmotionItem item) =>
        $"{item.Id}|{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(item.Text)))}";

    private string VisualKey(string id, VideoSource v)
    {
        if (!File.Exists(v.Path)) throw new FileNotFoundException($"{v.Path}: video file missing", v.Path);
        return string.Join('|', id, Path.GetFullPath(v.Path), FileStamp(v.Path), v.Format, v.Region, Seconds(v.StartSeconds), Seconds(v.EndSeconds),
            v.FrameWidth?.ToString(CultureInfo.InvariantCulture) ?? "", Seconds(v.FramesPerSecond),
            $"fps={Seconds(_sampling.FramesPerSecond)},size={_sampling.Size},max={_sampling.MaxFrames}");
    }

    private static string FileStamp(string path)
    {
        var info = new FileInfo(path);
        return $"{info.Length}@{info.LastWriteTimeUtc.Ticks}";
    }

    private static string Seconds(double? value) => value?.ToString("R", CultureInfo.InvariantCulture) ?? "";
}
