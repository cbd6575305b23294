using WavFusion.Media;

namespace WavFusion.Live.Stages;

/// <summary>
/// Faces of one stream by stream time: the face stage adds them as frames are analysed, the window assembler
/// reads those inside a window. Thread-safe; entries older than what any window can still need are pruned.
/// </summary>
public sealed class FaceTimeline
{
    private readonly List<FaceObservation> _faces = [];
    private readonly Lock _gate = new();

    public void Add(FaceObservation face)
    {
        ArgumentNullException.ThrowIfNull(face);
        lock (_gate)
        {
            // Frames arrive in stream order; keep the list sorted even if one is late.
            int at = _faces.Count;
            while (at > 0 && _faces[at - 1].StreamTime > face.StreamTime) at--;
            _faces.Insert(at, face);
        }
    }

    /// <summary>Faces with start ≤ time &lt; end, in time order.</summary>
    public IReadOnlyList<FaceObservation> Between(TimeSpan start, TimeSpan end)
    {
        lock (_gate) return _faces.Where(f => f.StreamTime >= start && f.StreamTime < end).ToList();
    }

    /// <summary>Forgets faces before <paramref name="time"/>.</summary>
    public void PruneBefore(TimeSpan time)
    {
        lock (_gate) _faces.RemoveAll(f => f.StreamTime < time);
    }

    public int Count
    {
        get { lock (_gate) return _faces.Count; }
    }
}

/// <summary>
/// The transcript of one stream by stream time: committed segments stay, the interim tail is replaced by each
/// newer hypothesis. The window assembler reads the words whose time overlaps a window.
/// </summary>
public sealed class TranscriptTimeline
{
    private readonly List<TranscriptSegment> _committed = [];
    private readonly List<TranscriptSegment> _interim = [];
    private readonly Lock _gate = new();

    public void Add(TranscriptSegment segment)
    {
        ArgumentNullException.ThrowIfNull(segment);
        lock (_gate)
        {
            if (segment.IsFinal)
            {
                _committed.Add(segment);
                _interim.RemoveAll(s => s.Start < segment.End);
            }
            else
            {
                _interim.Clear();
                _interim.Add(segment);
            }
        }
    }

    /// <summary>The text of the segments overlapping [start, end), committed first, then the interim tail; null when none.</summary>
    public string? TextBetween(TimeSpan start, TimeSpan end)
    {
        lock (_gate)
        {
            var parts = _committed.Concat(_interim).Where(s => s.End > start && s.Start < end).OrderBy(s => s.Start).Select(s => s.Text.Trim()).Where(t => t.Length > 0).ToList();
            return parts.Count == 0 ? null : string.Join(' ', parts);
        }
    }

    /// <summary>Forgets segments that ended before <paramref name="time"/>.</summary>
    public void PruneBefore(TimeSpan time)
    {
        lock (_gate)
        {
            _committed.RemoveAll(s => s.End < time);
            _interim.RemoveAll(s => s.End < time);
        }
    }
}
