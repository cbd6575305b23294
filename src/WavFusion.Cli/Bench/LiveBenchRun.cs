using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using WavFusion.Api.V1;
using WavFusion.Live.Capture;
using WavFusion.Live.Pipeline;
using WavFusion.Live.Sinks;
using WavFusion.Media;
using AudioChunk = WavFusion.Media.AudioChunk;

namespace WavFusion.Cli.Bench;

/// <summary>
/// One emotion result as a benchmark sink saw it: the pipeline's own latency (from the window's last sample reaching
/// the window assembler) and, <see cref="CaptureLatencyMs"/>, from the moment the capture source delivered the window's
/// end to the moment the sink received the event, so queues before the assembler (capture, VAD) count too.
/// </summary>
internal readonly record struct ResultRecord(uint LatencyMs, bool IsFinal, bool Visual, bool Text, double CaptureLatencyMs, uint ProcessingMs = 0);

/// <summary>A sink that keeps what the benchmark reports of each result: its latency and the modalities it carried.</summary>
internal sealed class RecordingSink(CaptureClock clock) : IEventSink
{
    private readonly List<ResultRecord> _results = [];

    public IReadOnlyList<ResultRecord> Results
    {
        get
        {
            lock (_results) return [.. _results];
        }
    }

    public async Task RunAsync(ChannelReader<StreamingRecognizeResponse> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        await foreach (var e in events.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (e.EventCase != StreamingRecognizeResponse.EventOneofCase.Result) continue;
            var r = e.Result;
            double capture = clock.MillisecondsSince(TimeSpan.FromMilliseconds(r.EndOffsetMs));
            lock (_results) _results.Add(new ResultRecord(r.LatencyMs, r.IsFinal, r.ModalitiesPresent?.Visual == true, r.ModalitiesPresent?.Text == true, capture, r.ProcessingMs));
        }
    }
}

/// <summary>
/// When a paced source delivered stream time 0 (its first chunk), so that the wall time at which it delivered any
/// later stream time is known: the file source delivers chunk i at first + i × chunk length, like a microphone.
/// </summary>
internal sealed class CaptureClock
{
    private long _first;

    public void Delivered() => Interlocked.CompareExchange(ref _first, Stopwatch.GetTimestamp(), 0);

    /// <summary>Milliseconds from the delivery of <paramref name="streamTime"/> until now; NaN before the first chunk.</summary>
    public double MillisecondsSince(TimeSpan streamTime)
    {
        long first = Interlocked.Read(ref _first);
        return first == 0 ? double.NaN : (Stopwatch.GetElapsedTime(first) - streamTime).TotalMilliseconds;
    }
}

/// <summary>An audio source whose first delivered chunk starts a <see cref="CaptureClock"/>; everything else passes through.</summary>
internal sealed class ClockedAudioSource(IAudioSource inner, CaptureClock clock) : IAudioSource
{
    public string Name => inner.Name;

    public bool Realtime => inner.Realtime;

    public CaptureCounters Counters => inner.Counters;

    public Task RunAsync(ChannelWriter<AudioChunk> output, CancellationToken cancellationToken) => inner.RunAsync(new Writer(output, clock), cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();

    private sealed class Writer(ChannelWriter<AudioChunk> inner, CaptureClock clock) : ChannelWriter<AudioChunk>
    {
        public override bool TryWrite(AudioChunk item)
        {
            clock.Delivered();
            return inner.TryWrite(item);
        }

        public override ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default) => inner.WaitToWriteAsync(cancellationToken);

        public override bool TryComplete(Exception? error = null) => inner.TryComplete(error);
    }
}

/// <summary>What N concurrent paced streams on one runtime measured.</summary>
internal sealed record StreamRun(
    int Streams,
    double StreamSeconds,
    IReadOnlyList<ResultRecord> Results,
    IReadOnlyDictionary<string, long> Drops,
    IReadOnlyDictionary<string, long> Counters,
    IReadOnlyDictionary<int, long> Batches,
    double CpuSeconds,
    double WallSeconds,
    double MaxFinishLagSeconds,
    PoolLoad Pool)
{
    /// <summary>Capture channels (audio and video) and source overruns: data a live stream lost because the pipeline fell behind.</summary>
    public long CaptureDrops => Drops.GetValueOrDefault("audio_capture") + Drops.GetValueOrDefault("video_capture")
                                + Counters.Where(c => c.Key.EndsWith(": overruns", StringComparison.Ordinal)).Sum(c => c.Value);

    public double Percentile(double percent, bool interimOnly = false) =>
        LatencyPercentile(Results.Where(r => !interimOnly || !r.IsFinal).Select(r => (double)r.LatencyMs).ToList(), percent);

    /// <summary>The same over the results' processing_ms: a final's counts from the VAD's end decision, not its last voiced sample.</summary>
    public double ProcessingPercentile(double percent) =>
        LatencyPercentile(Results.Select(r => (double)r.ProcessingMs).ToList(), percent);

    /// <summary>The same over <see cref="ResultRecord.CaptureLatencyMs"/>: from capture to the sink.</summary>
    public double CapturePercentile(double percent) =>
        LatencyPercentile(Results.Where(r => double.IsFinite(r.CaptureLatencyMs)).Select(r => r.CaptureLatencyMs).ToList(), percent);

    /// <summary>Share of the whole machine's CPU the process used, 0..1.</summary>
    public double CpuShare => WallSeconds > 0 ? CpuSeconds / WallSeconds / Environment.ProcessorCount : 0;

    public string BatchText => Batches.Count == 0 ? "none" : string.Join(", ", Batches.OrderBy(b => b.Key).Select(b => $"{b.Key}x{b.Value}"));

    public string OtherDropsText
    {
        get
        {
            var other = Drops.Where(d => d.Value > 0 && d.Key is not ("audio_capture" or "video_capture")).OrderBy(d => d.Key).ToList();
            return other.Count == 0 ? "none" : string.Join(", ", other.Select(d => $"{d.Key} {d.Value}"));
        }
    }

    /// <summary>Nearest-rank percentile (as <see cref="LiveStats"/> computes it); NaN without values.</summary>
    public static double LatencyPercentile(IReadOnlyList<double> values, double percent)
    {
        if (values.Count == 0) return double.NaN;
        var sorted = values.Order().ToArray();
        int index = (int)Math.Ceiling(percent / 100 * sorted.Length) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Length - 1)];
    }
}

/// <summary>Runs paced sessions of a clip on a loaded <see cref="LiveRuntime"/>, as many at once as asked.</summary>
internal static class LiveBenchRun
{
    /// <summary>
    /// <paramref name="streams"/> sessions at once, each reading <paramref name="clip"/> (<paramref name="seconds"/> long) in real
    /// time: its audio through <see cref="AudioSources.File"/> and, with <paramref name="video"/>, its frames through a
    /// <see cref="CameraSource"/> paced at their timestamps. Starts are spread over one hop, as independent streams fall.
    /// </summary>
    public static async Task<StreamRun> RunAsync(LiveRuntime runtime, string clip, double seconds, int streams, bool video,
        IReadOnlyList<TranscriptSegment>? transcript, CancellationToken cancellationToken)
    {
        var options = runtime.Options;
        var batchesBefore = runtime.Batcher.BatchSizes.ToDictionary(b => b.Key, b => b.Value);
        var clocks = Enumerable.Range(0, streams).Select(_ => new CaptureClock()).ToArray();
        var sinks = clocks.Select(c => new RecordingSink(c)).ToArray();
        var stats = Enumerable.Range(0, streams).Select(_ => new LiveStats()).ToArray();
        var lags = new double[streams];
        using var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var hop = TimeSpan.FromMilliseconds(options.Windows.HopMs);
        var camera = options.Camera with { PaceFiles = true, Loop = false };

        async Task Session(int i)
        {
            await Task.Delay(hop * i / streams, cancellationToken).ConfigureAwait(false);
            await using var audio = new ClockedAudioSource(AudioSources.File(clip, realtime: true, options.Microphone.ChunkMs), clocks[i]);
            await using IVideoSource? frames = video ? new CameraSource(clip, camera) : null;
            var start = clock.Elapsed;
            await runtime.RunSessionAsync(string.Create(CultureInfo.InvariantCulture, $"bench-{i + 1}"), audio, frames, transcript, [sinks[i]], stats[i],
                cancellationToken: cancellationToken).ConfigureAwait(false);
            lags[i] = (clock.Elapsed - start).TotalSeconds - seconds;
        }

        using var watch = new PoolWatch();
        await Task.WhenAll(Enumerable.Range(0, streams).Select(Session)).ConfigureAwait(false);
        double wall = clock.Elapsed.TotalSeconds;
        process.Refresh();
        double cpu = (process.TotalProcessorTime - cpuBefore).TotalSeconds;

        var batches = runtime.Batcher.BatchSizes
            .Select(b => (b.Key, Count: b.Value - batchesBefore.GetValueOrDefault(b.Key)))
            .Where(b => b.Count > 0).ToDictionary(b => b.Key, b => b.Count);
        return new StreamRun(streams, seconds, sinks.SelectMany(s => s.Results).ToList(), Sum(stats.Select(s => s.Drops)), Sum(stats.Select(s => s.Counters)),
            batches, cpu, wall, lags.Max(), watch.Stop());
    }

    private static Dictionary<string, long> Sum(IEnumerable<IReadOnlyDictionary<string, long>> all)
    {
        var sum = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var one in all)
            foreach (var (key, value) in one)
                sum[key] = sum.GetValueOrDefault(key) + value;
        return sum;
    }
}

/// <summary>
/// The .NET thread pool and the machine during a run: most pool threads and most queued work items seen (work
/// waiting for a thread: the pipeline's async stages wait behind blocking work), and the 1-minute load average at the
/// end (other processes on the machine take cores from the measurement).
/// </summary>
internal sealed record PoolLoad(int MaxThreads, long MaxPending, double LoadAverage, double CpuPressure)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"thread pool max {MaxThreads} threads, max {MaxPending} queued items; load average {LoadAverage:F1}{(double.IsNaN(CpuPressure) ? "" : $", CPU pressure {CpuPressure:F0} %")}");

    /// <summary>
    /// Share of the last 10 s in which some runnable thread waited for a CPU (Linux pressure stall information,
    /// /proc/pressure/cpu "some avg10"); NaN where the kernel does not report it. High while other processes load the machine.
    /// </summary>
    public static double ReadCpuPressure()
    {
        try
        {
            string? some = File.ReadLines("/proc/pressure/cpu").FirstOrDefault(l => l.StartsWith("some ", StringComparison.Ordinal));
            string? field = some?.Split(' ').FirstOrDefault(f => f.StartsWith("avg10=", StringComparison.Ordinal));
            return field is null ? double.NaN : double.Parse(field["avg10=".Length..], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return double.NaN;
        }
    }

    /// <summary>The 1-minute load average (Linux; NaN elsewhere).</summary>
    public static double ReadLoadAverage()
    {
        try
        {
            var text = File.ReadAllText("/proc/loadavg").Split(' ');
            return double.Parse(text[0], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return double.NaN;
        }
    }
}

/// <summary>Samples the thread pool every 50 ms on a thread of its own (a starved pool could not time itself).</summary>
internal sealed class PoolWatch : IDisposable
{
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _stop = new();
    private int _maxThreads;
    private long _maxPending;

    public PoolWatch()
    {
        _thread = new Thread(() =>
        {
            do
            {
                _maxThreads = Math.Max(_maxThreads, ThreadPool.ThreadCount);
                _maxPending = Math.Max(_maxPending, ThreadPool.PendingWorkItemCount);
            }
            while (!_stop.Wait(50));
        })
        { IsBackground = true, Name = "bench pool watch" };
        _thread.Start();
    }

    public PoolLoad Stop()
    {
        _stop.Set();
        _thread.Join();
        return new PoolLoad(_maxThreads, _maxPending, PoolLoad.ReadLoadAverage(), PoolLoad.ReadCpuPressure());
    }

    public void Dispose()
    {
        if (!_stop.IsSet) Stop();
        _stop.Dispose();
    }
}
