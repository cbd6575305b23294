namespace WavFusion.Live.Pipeline;

/// <summary>
/// Lets frames through at most <c>maxFps</c> per second of stream time, spread evenly: a 25 fps camera capped at
/// 10 passes 10 frames a second (every second or third frame), not 8 (every third). Not thread-safe; one per stream.
/// </summary>
public sealed class FrameRateGate
{
    // Backends round stream times to milliseconds; a frame this early is still on time.
    private static readonly TimeSpan Tolerance = TimeSpan.FromMilliseconds(1);

    private readonly TimeSpan _interval;
    private TimeSpan? _nextDue;

    public FrameRateGate(double maxFps)
    {
        if (!(maxFps > 0) || double.IsInfinity(maxFps)) throw new ArgumentOutOfRangeException(nameof(maxFps), maxFps, "frames per second must be positive and finite");
        _interval = TimeSpan.FromSeconds(1 / maxFps);
    }

    /// <summary>True when a frame at <paramref name="streamTime"/> is due; the caller then uses it, otherwise skips it.</summary>
    public bool TryPass(TimeSpan streamTime)
    {
        if (_nextDue is { } due && streamTime + Tolerance < due) return false;
        var next = (_nextDue ?? streamTime) + _interval;
        // After a gap (a reconnect, a stalled camera) the schedule restarts rather than let a burst through.
        _nextDue = next <= streamTime ? streamTime + _interval : next;
        return true;
    }
}
