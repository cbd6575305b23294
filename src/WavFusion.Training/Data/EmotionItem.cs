namespace WavFusion.Training.Data;

/// <summary>Where an item sits in its corpus's protocol.</summary>
public enum DataSplit
{
    Train,
    Validation,
    Test,
}

/// <summary>The part of a video frame that shows the item's speaker.</summary>
public enum FaceRegion
{
    /// <summary>The whole frame (one speaker in view, e.g. MELD clips or SynthEmo faces).</summary>
    Full,

    /// <summary>The left half of a side-by-side two-speaker frame.</summary>
    LeftHalf,

    /// <summary>The right half of a side-by-side two-speaker frame.</summary>
    RightHalf,
}

/// <summary>How the frames of a <see cref="VideoSource"/> are stored.</summary>
public enum VideoFormat
{
    /// <summary>A container ffmpeg decodes (avi, mp4, ...), cut at the source's start/end.</summary>
    Container,

    /// <summary>
    /// One PNG holding the frames left to right, each <see cref="VideoSource.FrameWidth"/> pixels wide, sampled at
    /// <see cref="VideoSource.FramesPerSecond"/> (SynthEmo's faces: lossless and byte-identical for a seed).
    /// </summary>
    FrameStrip,
}

/// <summary>An utterance's audio: a file, optionally cut to [StartSeconds, EndSeconds).</summary>
public sealed record AudioSource(string Path, double? StartSeconds = null, double? EndSeconds = null)
{
    public double? DurationSeconds => StartSeconds is { } s && EndSeconds is { } e ? e - s : null;
}

/// <summary>An utterance's video: a file, optionally cut in time and to the speaker's side of the frame.</summary>
public sealed record VideoSource(
    string Path,
    double? StartSeconds = null,
    double? EndSeconds = null,
    FaceRegion Region = FaceRegion.Full,
    VideoFormat Format = VideoFormat.Container,
    int? FrameWidth = null,
    double? FramesPerSecond = null)
{
    public double? DurationSeconds => StartSeconds is { } s && EndSeconds is { } e ? e - s : null;
}

/// <summary>
/// One labelled utterance of any corpus, in the form the feature cache and trainer consume.
/// <see cref="LabelIndex"/> indexes the protocol's class list (<see cref="LabelSet"/>); <see cref="Session"/> and
/// <see cref="Fold"/> are set where the corpus has them (IEMOCAP: session 1-5, fold = session − 1 for
/// leave-one-session-out); <see cref="Split"/> is the item's split in the protocol that produced it.
/// </summary>
public sealed record EmotionItem(
    string Id,
    string Corpus,
    DataSplit Split,
    string Label,
    int LabelIndex,
    string Text,
    AudioSource Audio,
    VideoSource? Video = null,
    string? Speaker = null,
    int? Session = null,
    int? Fold = null);

/// <summary>A protocol's class names; the index of a name is the label index the model predicts.</summary>
public sealed class LabelSet
{
    private readonly Dictionary<string, int> _index;

    public LabelSet(IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        Names = [.. names];
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < Names.Count; i++)
            if (!_index.TryAdd(Names[i], i)) throw new ArgumentException($"label '{Names[i]}' appears twice", nameof(names));
    }

    public IReadOnlyList<string> Names { get; }

    public int Count => Names.Count;

    public bool TryIndex(string name, out int index) => _index.TryGetValue(name, out index);

    public int IndexOf(string name) =>
        _index.TryGetValue(name, out int i) ? i : throw new ArgumentException($"'{name}' is not one of the labels {string.Join(", ", Names)}", nameof(name));
}

/// <summary>One train/validation/test partition: the only split of a fixed protocol, or one fold of cross-validation.</summary>
public sealed record DatasetPartition(string Name, IReadOnlyList<EmotionItem> Train, IReadOnlyList<EmotionItem> Validation, IReadOnlyList<EmotionItem> Test)
{
    public IEnumerable<EmotionItem> All => Train.Concat(Validation).Concat(Test);
}
