using System.Globalization;

namespace WavFusion.Training.Data;

/// <summary>Where one MELD split lives: its CSV and its clip folder, both relative to the corpus root unless rooted.</summary>
public sealed record MeldSplitLayout(string Csv, string ClipFolder);

/// <summary>Reader options; the defaults are the published MELD.Raw layout.</summary>
public sealed record MeldOptions
{
    public MeldSplitLayout Train { get; init; } = new("train_sent_emo.csv", "train_splits");

    public MeldSplitLayout Dev { get; init; } = new("dev_sent_emo.csv", "dev_splits_complete");

    public MeldSplitLayout Test { get; init; } = new("test_sent_emo.csv", "output_repeated_splits_test");
}

/// <summary>
/// Reads MELD: the three <c>*_sent_emo.csv</c> files (RFC 4180, quoted fields may hold commas, quotes and line
/// breaks; text repaired by <see cref="TextRepair"/>) and the <c>dia{D}_utt{U}.mp4</c> clips, with the official
/// train/dev/test splits (dev is the validation split). Rows with an unknown emotion, malformed ids or no clip are
/// skipped and reported; a missing CSV costs its split, reported, not the read.
/// </summary>
public static class MeldReader
{
    public const string CorpusName = "MELD";

    public static LabelSet Labels { get; } = new(["neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear"]);

    private static readonly string[] RequiredColumns = ["Utterance", "Speaker", "Emotion", "Dialogue_ID", "Utterance_ID"];

    public static LoadedCorpus Load(string root, MeldOptions? options = null)
    {
        options ??= new MeldOptions();
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"{root}: MELD folder not found");
        var report = new DatasetReport(CorpusName, root);
        var train = ReadSplit(root, "train", DataSplit.Train, options.Train, report);
        var dev = ReadSplit(root, "dev", DataSplit.Validation, options.Dev, report);
        var test = ReadSplit(root, "test", DataSplit.Test, options.Test, report);
        return new LoadedCorpus(Labels, [new DatasetPartition("official", train, dev, test)], report);
    }

    private static List<EmotionItem> ReadSplit(string root, string splitName, DataSplit split, MeldSplitLayout layout, DatasetReport report)
    {
        var items = new List<EmotionItem>();
        string csvPath = Path.GetFullPath(layout.Csv, root);
        string clipDir = Path.GetFullPath(layout.ClipFolder, root);
        string relCsv = Path.GetRelativePath(root, csvPath);
        if (!File.Exists(csvPath))
        {
            report.Skip(relCsv, $"file missing: the {splitName} split is empty");
            return items;
        }

        var table = CsvTable.Parse(TextRepair.DecodeFile(csvPath));
        var missing = RequiredColumns.Where(c => table.ColumnOf(c) < 0).ToList();
        if (missing.Count > 0)
            throw new InvalidDataException($"{csvPath}: no column {string.Join(", ", missing)} (header: {string.Join(",", table.Header)})");
        if (table.UnterminatedQuoteLine is { } open)
            report.Warn($"{relCsv}:{open}", "a quoted field opened here is never closed: the rest of the file was read as one field");
        int cUtterance = table.ColumnOf("Utterance"), cSpeaker = table.ColumnOf("Speaker"), cEmotion = table.ColumnOf("Emotion");
        int cDialogue = table.ColumnOf("Dialogue_ID"), cUtteranceId = table.ColumnOf("Utterance_ID");
        int cStart = table.ColumnOf("StartTime"), cEnd = table.ColumnOf("EndTime");

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var record in table.Records)
        {
            string where = $"{relCsv}:{record.Line}";
            string Field(int column) => column >= 0 && column < record.Fields.Count ? record.Fields[column].Trim() : "";
            if (record.Fields.Count != table.Header.Count)
            {
                report.Skip(where, $"{record.Fields.Count} fields where the header has {table.Header.Count}");
                continue;
            }
            string dia = Field(cDialogue), utt = Field(cUtteranceId);
            if (!int.TryParse(dia, NumberStyles.None, CultureInfo.InvariantCulture, out int d) ||
                !int.TryParse(utt, NumberStyles.None, CultureInfo.InvariantCulture, out int u))
            {
                report.Skip(where, $"Dialogue_ID '{dia}' / Utterance_ID '{utt}' are not non-negative integers");
                continue;
            }
            string clipName = $"dia{d}_utt{u}";
            string id = $"{splitName}_{clipName}";
            string emotion = Field(cEmotion).ToLowerInvariant();
            if (!Labels.TryIndex(emotion, out int labelIndex))
            {
                report.Skip(id, $"{where}: unknown emotion '{emotion}' (MELD's are {string.Join(", ", Labels.Names)})");
                continue;
            }
            if (!seen.Add(id))
            {
                report.Skip(id, $"{where}: utterance listed twice");
                continue;
            }
            string clip = Path.Combine(clipDir, clipName + ".mp4");
            var info = new FileInfo(clip);
            if (!info.Exists || info.Length == 0)
            {
                report.Skip(id, $"{Path.GetRelativePath(root, clip)}: {(info.Exists ? "empty file" : "clip missing")}");
                continue;
            }
            if (cStart >= 0 && cEnd >= 0 && !TimesAreValid(Field(cStart), Field(cEnd)))
                report.Warn(id, $"{where}: StartTime/EndTime '{Field(cStart)}'-'{Field(cEnd)}' are not hh:mm:ss,mmm in order (the clip is used whole)");
            string text = Field(cUtterance);
            string speaker = Field(cSpeaker);
            report.Accept(emotion);
            items.Add(new EmotionItem(id, CorpusName, split, emotion, labelIndex, text,
                new AudioSource(clip), new VideoSource(clip), speaker.Length > 0 ? speaker : null));
        }
        return items;
    }

    private static bool TimesAreValid(string? start, string? end) =>
        TryParseTime(start, out var s) && TryParseTime(end, out var e) && e > s;

    /// <summary>MELD's episode times, e.g. "00:14:38,127" (SubRip style, comma before the milliseconds).</summary>
    public static bool TryParseTime(string? text, out TimeSpan time) =>
        TimeSpan.TryParseExact(text?.Trim(), [@"hh\:mm\:ss\,fff", @"h\:mm\:ss\,fff", @"hh\:mm\:ss\.fff"], CultureInfo.InvariantCulture, out time);
}
