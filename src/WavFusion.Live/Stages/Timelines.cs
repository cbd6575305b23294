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
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _watermarkTicks = -1;

    /// <summary>Stream time up to which video has been analysed (every frame before it is in, or was faceless); −1 tick before any.</summary>
    public TimeSpan Watermark => TimeSpan.FromTicks(Interlocked.Read(ref _watermarkTicks));

    /// <summary>Completes when the video has ended: no face will be added any more.</summary>
    public Task Ended => _ended.Task;

    /// <summary>Video has been analysed up to <paramref name="time"/>.</summary>
    public void Advance(TimeSpan time)
    {
        long ticks = time.Ticks;
        long seen;
        while ((seen = Interlocked.Read(ref _watermarkTicks)) < ticks && Interlocked.CompareExchange(ref _watermarkTicks, ticks, seen) != seen)
        {
        }
    }

    /// <summary>The video is over (or was never there).</summary>
    public void End() => _ended.TrySetResult();

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

    /// <summary>Forgets faces before <paramref name="time"/>, but never those a reserved window may still need (see <see cref="Reserve"/>).</summary>
    public void PruneBefore(TimeSpan time)
    {
        lock (_gate)
        {
            long limit = time.Ticks;
            foreach (long start in _reserved) limit = Math.Min(limit, start);
            _faces.RemoveAll(f => f.StreamTime.Ticks < limit);
        }
    }

    /// <summary>
    /// Keeps the faces from <paramref name="start"/> on until <see cref="Release"/>: a window starting there has been
    /// emitted but will read its faces later (recorded video is joined once analysed past the window's end), and the
    /// assembler must not prune them meanwhile, however far it runs ahead.
    /// </summary>
    public void Reserve(TimeSpan start)
    {
        lock (_gate) _reserved.Add(start.Ticks);
    }

    /// <summary>The window starting at <paramref name="start"/> has read its faces.</summary>
    public void Release(TimeSpan start)
    {
        lock (_gate) _reserved.Remove(start.Ticks);
    }

    private readonly List<long> _reserved = [];

    /// <summary>Windows reserved and not yet released.</summary>
    public int Reserved
    {
        get { lock (_gate) return _reserved.Count; }
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
