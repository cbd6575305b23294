using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using WavFusion.Training.Data;

namespace WavFusion.Training.SynthEmo;

/// <summary>One line of manifest.jsonl; paths are relative to the manifest's folder so a corpus can be moved.</summary>
public sealed record SynthEmoEntry(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("split")] string Split,
    [property: JsonPropertyName("label")] string Label,
    [property: JsonPropertyName("label_index")] int LabelIndex,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("audio")] string Audio,
    [property: JsonPropertyName("frames")] string Frames,
    [property: JsonPropertyName("frame_count")] int FrameCount,
    [property: JsonPropertyName("frame_size")] int FrameSize,
    [property: JsonPropertyName("fps")] double Fps,
    [property: JsonPropertyName("duration_s")] double DurationSeconds,
    [property: JsonPropertyName("speaker")] string Speaker,
    [property: JsonPropertyName("masking")] string Masking,
    [property: JsonPropertyName("espeak")] string Espeak);

/// <summary>corpus.json: what generated the corpus, so a reader can tell versions and seeds apart.</summary>
public sealed record SynthEmoInfo(
    [property: JsonPropertyName("corpus")] string Corpus,
    [property: JsonPropertyName("version")] int Version,
    [property: JsonPropertyName("seed")] int Seed,
    [property: JsonPropertyName("items")] int Items,
    [property: JsonPropertyName("classes")] IReadOnlyList<string> Classes,
    [property: JsonPropertyName("sample_rate")] int SampleRate,
    [property: JsonPropertyName("frame_size")] int FrameSize,
    [property: JsonPropertyName("frames_per_item")] int FramesPerItem);

/// <summary>Writes and reads a SynthEmo corpus's manifest.jsonl and corpus.json.</summary>
public static class SynthEmoManifest
{
    public const string ManifestFile = "manifest.jsonl";
    public const string InfoFile = "corpus.json";

    // Relaxed escaping keeps "can't" and "en+m1" readable; the files are never embedded in HTML.
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonSerializerOptions JsonIndented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string SplitName(DataSplit split) => split switch
    {
        DataSplit.Train => "train",
        DataSplit.Validation => "val",
        DataSplit.Test => "test",
        _ => throw new ArgumentOutOfRangeException(nameof(split), split, null),
    };

    public static void Write(string dir, SynthEmoInfo info, IEnumerable<SynthEmoEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        WriteAtomically(Path.Combine(dir, InfoFile), JsonSerializer.Serialize(info, JsonIndented) + "\n");
        WriteAtomically(Path.Combine(dir, ManifestFile), string.Concat(entries.Select(e => JsonSerializer.Serialize(e, Json) + "\n")));
    }

    /// <summary>Reads a corpus from its folder (or its manifest.jsonl). Broken lines and missing files are reported and skipped.</summary>
    public static LoadedCorpus Load(string path)
    {
        string manifest = Directory.Exists(path) ? Path.Combine(path, ManifestFile) : path;
        string dir = Path.GetDirectoryName(Path.GetFullPath(manifest))!;
        if (!File.Exists(manifest)) throw new FileNotFoundException($"{manifest}: SynthEmo manifest not found (generate one with `wavfusion synth --out {dir}`)", manifest);
        var labels = new LabelSet(ReadInfo(dir)?.Classes ?? SynthEmoDesign.Classes.Select(c => c.Name).ToList());
        var report = new DatasetReport(SynthEmoDesign.CorpusName, dir);
        List<EmotionItem> train = [], val = [], test = [];
        string[] lines = File.ReadAllLines(manifest);
        for (int n = 0; n < lines.Length; n++)
        {
            if (string.IsNullOrWhiteSpace(lines[n])) continue;
            string where = $"{ManifestFile}:{n + 1}";
            SynthEmoEntry? e;
            try
            {
                e = JsonSerializer.Deserialize<SynthEmoEntry>(lines[n], Json);
            }
            catch (JsonException ex)
            {
                report.Skip(where, $"not a manifest entry: {ex.Message}");
                continue;
            }
            if (e is null || e.Id is null || e.Audio is null || e.Frames is null || e.Label is null)
            {
                report.Skip(where, "entry lacks id, label, audio or frames");
                continue;
            }
            if (!labels.TryIndex(e.Label, out int index))
            {
                report.Skip(e.Id, $"{where}: unknown label '{e.Label}'");
                continue;
            }
            DataSplit? split = e.Split switch { "train" => DataSplit.Train, "val" => DataSplit.Validation, "test" => DataSplit.Test, _ => null };
            if (split is null)
            {
                report.Skip(e.Id, $"{where}: split '{e.Split}' is not train, val or test");
                continue;
            }
            string audio = Path.GetFullPath(e.Audio, dir), frames = Path.GetFullPath(e.Frames, dir);
            if (WavHeader.Problem(audio) is { } problem)
            {
                report.Skip(e.Id, $"{e.Audio}: {problem}");
                continue;
            }
            if (!File.Exists(frames))
            {
                report.Skip(e.Id, $"{e.Frames}: file missing");
                continue;
            }
            report.Accept(e.Label);
            var item = new EmotionItem(e.Id, SynthEmoDesign.CorpusName, split.Value, e.Label, index, e.Text ?? "",
                new AudioSource(audio),
                new VideoSource(frames, 0, e.DurationSeconds, FaceRegion.Full, VideoFormat.FrameStrip, e.FrameSize, e.Fps),
                e.Speaker);
            (split switch { DataSplit.Train => train, DataSplit.Validation => val, _ => test }).Add(item);
        }
        return new LoadedCorpus(labels, [new DatasetPartition("synthemo", train, val, test)], report);
    }

    public static SynthEmoInfo? ReadInfo(string dir)
    {
        string path = Path.Combine(dir, InfoFile);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<SynthEmoInfo>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a SynthEmo corpus.json: {e.Message}", e);
        }
    }

    private static void WriteAtomically(string path, string text)
    {
        string tmp = path + ".tmp";
        File.WriteAllText(tmp, text);
        File.Move(tmp, path, overwrite: true);
    }
}
