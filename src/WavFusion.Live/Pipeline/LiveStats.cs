using System.Collections.Concurrent;

namespace WavFusion.Live.Pipeline;

/// <summary>What a running pipeline counts, read from any thread: channel drops, event latencies, windows and events.</summary>
public sealed class LiveStats
{
    private const int LatencyWindow = 2048;
    private readonly ConcurrentDictionary<string, Func<long>> _drops = new();
    private readonly ConcurrentDictionary<string, Func<long>> _counters = new();
    private readonly double[] _latencies = new double[LatencyWindow];
    private readonly Lock _gate = new();
    private long _latencyCount;
    private long _results;
    private long _finals;
    private long _speechEvents;

    /// <summary>Reports <paramref name="channel"/>'s drops under its name.</summary>
    public void Track<T>(CountedChannel<T> channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        _drops[channel.Name] = () => channel.Dropped;
    }

    /// <summary>Reports a named counter (capture overruns, reconnects, faces found, ...).</summary>
    public void Track(string name, Func<long> counter) => _counters[name] = counter;

    public void Result(bool isFinal, TimeSpan latency)
    {
        Interlocked.Increment(ref _results);
        if (isFinal) Interlocked.Increment(ref _finals);
        lock (_gate)
        {
            _latencies[_latencyCount % LatencyWindow] = latency.TotalMilliseconds;
            _latencyCount++;
        }
    }

    public void SpeechEvent() => Interlocked.Increment(ref _speechEvents);

    public long Results => Interlocked.Read(ref _results);

    public long FinalResults => Interlocked.Read(ref _finals);

    public long SpeechEvents => Interlocked.Read(ref _speechEvents);

    /// <summary>Drops per channel so far.</summary>
    public IReadOnlyDictionary<string, long> Drops => _drops.ToDictionary(p => p.Key, p => p.Value());

    public IReadOnlyDictionary<string, long> Counters => _counters.ToDictionary(p => p.Key, p => p.Value());

    /// <summary>Latency percentile (0..100) over the last 2,048 results, in ms; NaN before any.</summary>
    public double LatencyPercentile(double percent)
    {
        double[] sample;
        lock (_gate)
        {
            int n = (int)Math.Min(_latencyCount, LatencyWindow);
            if (n == 0) return double.NaN;
            sample = _latencies[..n];
        }
        Array.Sort(sample);
        int index = (int)Math.Ceiling(percent / 100 * sample.Length) - 1;
        return sample[Math.Clamp(index, 0, sample.Length - 1)];
    }
}
