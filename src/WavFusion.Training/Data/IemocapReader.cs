using System.Globalization;
using System.Text.RegularExpressions;

namespace WavFusion.Training.Data;

/// <summary>The evaluation protocols the papers report on IEMOCAP.</summary>
public enum IemocapProtocol
{
    /// <summary>
    /// WavFusion's Table 1: happy, sad, neutral, angry, excited, frustrated; train on sessions 1-4 (part held out
    /// for validation), test on session 5.
    /// </summary>
    SixClassSession5Test,

    /// <summary>Happy (happy + excited), sad, neutral, angry; five folds, each testing on one session.</summary>
    FourClassLeaveOneSessionOut,
}

/// <summary>Reader options; the defaults suit the published IEMOCAP_full_release layout.</summary>
public sealed record IemocapOptions
{
    /// <summary>
    /// Where the actor wearing the motion-capture markers (the F or M after the session number in
    /// "Ses01F_impro01") appears in the side-by-side dialogue video; the other actor is taken to be on the other
    /// half. This is an assumption about the release's DivX videos, not something the corpus states in a file:
    /// check one frame of your copy and set <see cref="FaceRegion.RightHalf"/> if it is the other way round, or
    /// <see cref="FaceRegion.Full"/> to leave the choice to a face detector.
    /// </summary>
    public FaceRegion MarkerWearerSide { get; init; } = FaceRegion.LeftHalf;

    /// <summary>Share of the training dialogues held out for validation (whole dialogues, chosen by a stable hash).</summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>Changes which dialogues the stable hash holds out, for repeated runs with different validation sets.</summary>
    public int ValidationSeed { get; init; }
}

/// <summary>One labelled turn as the corpus describes it, before a protocol maps its label.</summary>
public sealed record IemocapTurn(
    string Id,
    string Dialogue,
    int Session,
    char Gender,
    string RawLabel,
    double StartSeconds,
    double EndSeconds,
    string Text,
    string WavPath,
    string? VideoPath,
    FaceRegion FaceRegion)
{
    /// <summary>IEMOCAP has ten actors, one woman and one man per session.</summary>
    public string Speaker => $"Ses{Session:00}{Gender}";
}

/// <summary>
/// Reads IEMOCAP in its published layout:
/// <c>Session{1..5}/dialog/EmoEvaluation/&lt;dialog&gt;.txt</c> (one summary line per turn:
/// <c>[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]</c>, then per-annotator lines),
/// <c>dialog/transcriptions/&lt;dialog&gt;.txt</c> (<c>Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me.</c>),
/// <c>sentences/wav/&lt;dialog&gt;/&lt;turn&gt;.wav</c> and <c>dialog/avi/DivX/&lt;dialog&gt;.avi</c> (cut at the turn's times).
/// A broken or missing part of one turn never stops the read: the turn is skipped and reported.
/// </summary>
public static partial class IemocapReader
{
    public const string CorpusName = "IEMOCAP";

    public static LabelSet SixClassLabels { get; } = new(["happy", "sad", "neutral", "angry", "excited", "frustrated"]);

    public static LabelSet FourClassLabels { get; } = new(["happy", "sad", "neutral", "angry"]);

    /// <summary>The categorical codes of EmoEvaluation summary lines (xxx: the annotators did not agree).</summary>
    public static IReadOnlySet<string> KnownCodes { get; } =
        new HashSet<string>(["neu", "hap", "exc", "sad", "ang", "fru", "sur", "fea", "dis", "oth", "xxx"], StringComparer.Ordinal);

    public static LabelSet LabelsOf(IemocapProtocol protocol) => protocol switch
    {
        IemocapProtocol.SixClassSession5Test => SixClassLabels,
        IemocapProtocol.FourClassLeaveOneSessionOut => FourClassLabels,
        _ => throw new ArgumentOutOfRangeException(nameof(protocol), protocol, "unknown IEMOCAP protocol"),
    };

    /// <summary>The protocol's class for an EmoEvaluation code, or null when the protocol leaves the code out.</summary>
    public static string? MapLabel(string code, IemocapProtocol protocol) => (code, protocol) switch
    {
        ("hap", _) => "happy",
        ("exc", IemocapProtocol.SixClassSession5Test) => "excited",
        ("exc", IemocapProtocol.FourClassLeaveOneSessionOut) => "happy",
        ("sad", _) => "sad",
        ("neu", _) => "neutral",
        ("ang", _) => "angry",
        ("fru", IemocapProtocol.SixClassSession5Test) => "frustrated",
        _ => null,
    };

    /// <summary>Reads the corpus under <paramref name="root"/> (the folder holding Session1..Session5) and applies a protocol.</summary>
    public static LoadedCorpus Load(string root, IemocapProtocol protocol, IemocapOptions? options = null)
    {
        options ??= new IemocapOptions();
        var report = new DatasetReport(CorpusName, root);
        var turns = ReadTurns(root, report, options);
        var labels = LabelsOf(protocol);

        var items = new List<EmotionItem>();
        foreach (var t in turns)
        {
            if (MapLabel(t.RawLabel, protocol) is not { } label)
            {
                report.Exclude(t.RawLabel);
                continue;
            }
            report.Accept(label);
            var video = t.VideoPath is null ? null : new VideoSource(t.VideoPath, t.StartSeconds, t.EndSeconds, t.FaceRegion);
            items.Add(new EmotionItem(t.Id, CorpusName, DataSplit.Train, label, labels.IndexOf(label), t.Text,
                new AudioSource(t.WavPath), video, t.Speaker, t.Session, t.Session - 1));
        }

        var partitions = protocol == IemocapProtocol.SixClassSession5Test
            ? new[] { Partition("session5-test", items, testSession: 5, options) }
            : Enumerable.Range(1, 5).Select(s => Partition($"fold{s - 1}-test-session{s}", items, s, options)).ToArray();
        return new LoadedCorpus(labels, partitions, report);
    }

    /// <summary>Every turn with a summary line, a transcript and a readable sentence WAV, whatever its label.</summary>
    public static IReadOnlyList<IemocapTurn> ReadTurns(string root, DatasetReport report, IemocapOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        options ??= new IemocapOptions();
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"{root}: IEMOCAP folder not found");
        var turns = new List<IemocapTurn>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int session = 1; session <= 5; session++)
        {
            string sessionDir = Path.Combine(root, $"Session{session}");
            string evalDir = Path.Combine(sessionDir, "dialog", "EmoEvaluation");
            if (!Directory.Exists(evalDir))
            {
                report.Skip($"Session{session}", $"no {Path.GetRelativePath(root, evalDir)} folder: the whole session is missing");
                continue;
            }
            // macOS copies of the corpus carry "._" resource-fork files beside every text file.
            var labelFiles = Directory.EnumerateFiles(evalDir, "*.txt")
                .Where(f => !Path.GetFileName(f).StartsWith("._", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal);
            foreach (string labelFile in labelFiles)
                ReadDialogue(root, sessionDir, session, labelFile, report, options, turns, seen);
        }
        return turns;
    }

    private static void ReadDialogue(string root, string sessionDir, int session, string labelFile, DatasetReport report,
        IemocapOptions options, List<IemocapTurn> turns, HashSet<string> seen)
    {
        string dialogue = Path.GetFileNameWithoutExtension(labelFile);
        string relLabel = Path.GetRelativePath(root, labelFile);
        string transcriptFile = Path.Combine(sessionDir, "dialog", "transcriptions", dialogue + ".txt");
        var transcripts = ReadTranscripts(root, transcriptFile, report);

        string avi = Path.Combine(sessionDir, "dialog", "avi", "DivX", dialogue + ".avi");
        string? video = File.Exists(avi) ? avi : null;
        bool warnedVideo = false;

        string[] lines = File.ReadAllLines(labelFile);
        for (int n = 0; n < lines.Length; n++)
        {
            string line = lines[n];
            // Summary lines start with the time span; annotator lines (C-E1:, A-F1:, ...) and the header do not.
            if (!line.StartsWith('[')) continue;
            string where = $"{relLabel}:{n + 1}";
            var m = LabelLine().Match(line);
            if (!m.Success)
            {
                report.Skip(where, $"malformed label line '{Clip(line)}' (expected '[start - end]<TAB>turn<TAB>label<TAB>[v, a, d]')");
                continue;
            }
            string id = m.Groups["id"].Value;
            string code = m.Groups["label"].Value;
            double start = double.Parse(m.Groups["start"].Value, CultureInfo.InvariantCulture);
            double end = double.Parse(m.Groups["end"].Value, CultureInfo.InvariantCulture);
            var idMatch = TurnId().Match(id);
            if (!idMatch.Success || int.Parse(idMatch.Groups["session"].Value, CultureInfo.InvariantCulture) != session)
            {
                report.Skip(where, $"turn id '{id}' is not a Session{session} turn id like Ses0{session}F_impro01_F000");
                continue;
            }
            if (!KnownCodes.Contains(code))
            {
                report.Skip(id, $"{where}: unknown emotion code '{code}' (IEMOCAP's are {string.Join(", ", KnownCodes)})");
                continue;
            }
            if (end <= start)
            {
                report.Skip(id, $"{where}: turn ends at {end} s, not after its start {start} s");
                continue;
            }
            if (!seen.Add(id))
            {
                report.Skip(id, $"{where}: turn listed twice");
                continue;
            }
            if (!transcripts.TryGetValue(id, out string? text))
            {
                report.Skip(id, $"no transcript line in {Path.GetRelativePath(root, transcriptFile)}");
                continue;
            }
            string turnDialogue = id[..id.LastIndexOf('_')];
            string wav = Path.Combine(sessionDir, "sentences", "wav", turnDialogue, id + ".wav");
            if (WavHeader.Problem(wav) is { } wavProblem)
            {
                report.Skip(id, $"{Path.GetRelativePath(root, wav)}: {wavProblem}");
                continue;
            }
            if (video is null && !warnedVideo)
            {
                report.Warn(dialogue, $"no {Path.GetRelativePath(root, avi)}: its turns have audio and text only");
                warnedVideo = true;
            }
            char gender = idMatch.Groups["speaker"].Value[0];
            char markerWearer = idMatch.Groups["wearer"].Value[0];
            turns.Add(new IemocapTurn(id, turnDialogue, session, gender, code, start, end, text, wav, video,
                SpeakerSide(gender == markerWearer, options.MarkerWearerSide)));
        }
    }

    private static FaceRegion SpeakerSide(bool speakerWearsMarkers, FaceRegion markerWearerSide) => markerWearerSide switch
    {
        FaceRegion.Full => FaceRegion.Full,
        _ when speakerWearsMarkers => markerWearerSide,
        FaceRegion.LeftHalf => FaceRegion.RightHalf,
        _ => FaceRegion.LeftHalf,
    };

    private static Dictionary<string, string> ReadTranscripts(string root, string path, DatasetReport report)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(path)) return result;
        string rel = Path.GetRelativePath(root, path);
        string[] lines = File.ReadAllLines(path);
        for (int n = 0; n < lines.Length; n++)
        {
            if (string.IsNullOrWhiteSpace(lines[n])) continue;
            var m = TranscriptLine().Match(lines[n]);
            if (!m.Success)
            {
                report.Warn($"{rel}:{n + 1}", $"not a transcript line '{Clip(lines[n])}' (expected 'turn [start-end]: text')");
                continue;
            }
            result.TryAdd(m.Groups["id"].Value, m.Groups["text"].Value.Trim());
        }
        return result;
    }

    private static DatasetPartition Partition(string name, List<EmotionItem> items, int testSession, IemocapOptions options)
    {
        var trainDialogues = items.Where(i => i.Session != testSession).Select(Dialogue).Distinct().ToList();
        var validation = HeldOutDialogues(trainDialogues, options.ValidationFraction, options.ValidationSeed);
        List<EmotionItem> train = [], val = [], test = [];
        foreach (var item in items)
        {
            if (item.Session == testSession) test.Add(item with { Split = DataSplit.Test });
            else if (validation.Contains(Dialogue(item))) val.Add(item with { Split = DataSplit.Validation });
            else train.Add(item with { Split = DataSplit.Train });
        }
        return new DatasetPartition(name, train, val, test);
    }

    private static string Dialogue(EmotionItem item) => item.Id[..item.Id.LastIndexOf('_')];

    /// <summary>
    /// Whole dialogues, so that no conversation is split between training and validation; ordered by a hash of the
    /// name rather than by name so the held-out dialogues spread over sessions and script/improvisation.
    /// </summary>
    internal static HashSet<string> HeldOutDialogues(IReadOnlyList<string> dialogues, double fraction, int seed)
    {
        if (fraction is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "validation fraction must be in [0, 1)");
        int count = (int)Math.Round(fraction * dialogues.Count);
        if (count == 0 && fraction > 0 && dialogues.Count >= 2) count = 1;
        return [.. dialogues.OrderBy(d => StableHash.Of(d, seed)).ThenBy(d => d, StringComparer.Ordinal).Take(count)];
    }

    private static string Clip(string line) => line.Length <= 80 ? line : line[..77] + "...";

    [GeneratedRegex(@"^\[\s*(?<start>\d+(?:\.\d+)?)\s*-\s*(?<end>\d+(?:\.\d+)?)\s*\]\s+(?<id>\S+)\s+(?<label>[A-Za-z]+)\s+\[[^\]]*\]\s*$")]
    private static partial Regex LabelLine();

    [GeneratedRegex(@"^(?<id>\S+)\s+\[\s*(?<start>\d+(?:\.\d+)?)\s*-\s*(?<end>\d+(?:\.\d+)?)\s*\]:\s?(?<text>.*)$")]
    private static partial Regex TranscriptLine();

    [GeneratedRegex(@"^Ses(?<session>0[1-5])(?<wearer>[FM])_\S+_(?<speaker>[FM])[0-9X]+$")]
    private static partial Regex TurnId();
}
