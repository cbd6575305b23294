using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.Intrinsics.X86;
using System.Text.Json;
using Grpc.Core;
using WavFusion.Api.V1;
using WavFusion.Client;
using WavFusion.Core.Audio;
using WavFusion.Live.Pipeline;

namespace WavFusion.Cli.Bench;

/// <summary>
/// `wavfusion bench grpc`: a real `wavfusion serve` process on this machine with the demo model, fed by real clients
/// (the product's <see cref="MediaFeed"/>, paced in real time) over HTTP/2. It measures how many concurrent real-time
/// streams the server sustains (the p50/p95 of the results' latency_ms and the drops at each count), the events per
/// second delivered to many watchers of all sessions, and how much those watchers slow the producers down. Printed
/// beside the targets, never asserted.
/// A final result's latency_ms counts from its utterance's last voiced sample, and the voice-activity detector can
/// only call the utterance over after vad.min_silence_ms of silence: that wait is the same at any load, so finals are
/// judged by their processing_ms (from the detector's decision to the result), printed beside their latency_ms, and
/// interim results (no such wait; the two are equal) by their latency_ms.
/// </summary>
internal static partial class GrpcBenchmark
{
    /// <summary>A stream count is sustained when every stream completes, nothing is dropped and p95 stays below this.</summary>
    public const double TargetP95Ms = 250;
    public const int TargetStreams = 8;
    public const double TargetSlowdownPercent = 5;

    private sealed record Settings(int[] Streams, int Watchers, int WatchStreams, string File, double Seconds, int Repeats, string? Model, bool All);

    /// <summary>One stream's outcome; <paramref name="Arrivals"/>: when each of its events reached the producer (Stopwatch ticks), in order.</summary>
    private sealed record StreamResult(double Seconds, List<double> Interim, List<double> Final, List<double> FinalProcessing, int Events, SessionSummary? Summary, string? SessionId, List<long> Arrivals);

    private sealed record StreamsRun(int Streams, double CompletionSeconds, Percentiles Interim, Percentiles Final, Percentiles FinalProcessing, long Drops, int Completed, int Events)
    {
        public int Results => Interim.Count + Final.Count;
    }

    private sealed record Percentiles(int Count, double P50, double P95)
    {
        public static Percentiles Of(IEnumerable<double> values)
        {
            var sorted = values.Order().ToList();
            return new Percentiles(sorted.Count, Percentile(sorted, 50), Percentile(sorted, 95));
        }
    }

    private sealed record WatchRun(double EventsPerSecond, long Events, long Lost, int Complete);

    public static Command CreateCommand()
    {
        var streams = new Option<string>("--streams") { Description = "comma-separated counts of concurrent real-time streams to try, in order", DefaultValueFactory = _ => "1,2,4,8,12,16" };
        var watchers = new Option<int>("--watchers") { Description = "watchers of all sessions for the fan-out measurement (0 skips it)", DefaultValueFactory = _ => 1000 };
        var watchStreams = new Option<int>("--watch-streams") { Description = "real-time streams producing events while the watchers watch (at most the largest sustained count); with --replicas, the streams of every run, spread over the replicas", DefaultValueFactory = _ => 4 };
        var file = new Option<FileInfo?>("--file") { Description = "the clip each stream sends, in real time; default samples/jfk.flac" };
        var seconds = new Option<double>("--seconds") { Description = "send only the clip's first seconds (0: all of it)", DefaultValueFactory = _ => 0 };
        var repeats = new Option<int>("--repeats") { Description = "pairs of runs without and with the watchers", DefaultValueFactory = _ => 2 };
        var model = new Option<DirectoryInfo?>("--model") { Description = "a model folder for the server; default the bundled demo model" };
        var all = new Option<bool>("--all") { Description = "try every stream count, not only up to the first that is not sustained" };
        var quick = new Option<bool>("--quick") { Description = "a smoke run: 1 and 2 streams of a 4 s clip, 20 watchers, one pair of runs (with --replicas: one stream per replica)" };
        var replicas = new Option<int>("--replicas") { Description = "serve processes sharing sessions over the bus (2 or more need --bus nats); with several, the bus is measured instead of the stream counts", DefaultValueFactory = _ => 1 };
        var bus = new Option<string>("--bus") { Description = "the replicas' session hub: inprocess, or nats (a nats-server started on a free loopback port)", DefaultValueFactory = _ => "inprocess" };
        bus.AcceptOnlyFromAmong("inprocess", "nats");
        var command = new Command("grpc", "Measure a real server process: concurrent real-time streams sustained, events delivered to many watchers, the producers' slowdown")
        {
            streams, watchers, watchStreams, file, seconds, repeats, model, all, quick, replicas, bus,
        };
        command.SetAction(async (parse, token) =>
        {
            int[] counts;
            try
            {
                counts = parse.GetValue(streams)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(s => int.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture)).ToArray();
            }
            catch (FormatException)
            {
                throw new OptionValueException("--streams", $"'{parse.GetValue(streams)}' is not a comma-separated list of stream counts");
            }
            if (counts.Length == 0 || counts.Any(n => n is < 1 or > 256)) throw new OptionValueException("--streams", "counts must be 1 to 256");
            var settings = new Settings(counts, parse.GetValue(watchers), parse.GetValue(watchStreams),
                parse.GetValue(file)?.FullName ?? ProductPaths.SampleSpeech, parse.GetValue(seconds), parse.GetValue(repeats),
                parse.GetValue(model)?.FullName, parse.GetValue(all));
            int replicaCount = parse.GetValue(replicas);
            bool nats = parse.GetValue(bus) == "nats";
            if (replicaCount is < 1 or > 8) throw new OptionValueException("--replicas", $"{replicaCount} is not 1 to 8");
            if (replicaCount > 1 && !nats) throw new OptionValueException("--replicas", $"{replicaCount} replicas need --bus nats (an in-process hub shares no sessions between processes)");
            if (nats && replicaCount < 2) throw new OptionValueException("--bus", "nats needs --replicas 2 or more (one replica's watchers never read the bus)");
            if (parse.GetValue(quick))
                settings = settings with { Streams = [1, 2], Watchers = Math.Min(settings.Watchers, 20), WatchStreams = nats ? replicaCount : 1, Seconds = 4, Repeats = 1 };
            if (settings.Watchers is < 0 or > 100_000) throw new OptionValueException("--watchers", $"{settings.Watchers} is not 0 to 100000");
            if (settings.WatchStreams < 1) throw new OptionValueException("--watch-streams", "must be at least 1");
            if (settings.Repeats < 1) throw new OptionValueException("--repeats", "must be at least 1");
            if (!(settings.Seconds >= 0)) throw new OptionValueException("--seconds", "must not be negative");
            if (!File.Exists(settings.File)) throw new FileNotFoundException($"{settings.File}: clip not found", settings.File);
            if (nats)
            {
                if (NatsServerRunner.Find() is null) throw new FileNotFoundException(NatsServerRunner.Missing);
                await RunReplicasAsync(settings, replicaCount, token).ConfigureAwait(false);
                return 0;
            }
            await RunAsync(settings, token).ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    private static async Task RunAsync(Settings settings, CancellationToken token)
    {
        using var scratch = new ScratchFolder();
        var (clip, clipSeconds) = PrepareClip(settings, scratch.Path);
        int maxStreams = Math.Max(settings.Streams.Max(), settings.WatchStreams) + 2;
        string config = Path.Combine(scratch.Path, "server.json");
        // The product's defaults, with room for the counts tried here (one caller: no keys, loopback only), and no rate
        // limit for the warm-up, which sends as fast as the server takes it; the measured streams are paced.
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            limits = new
            {
                max_streams_per_key = maxStreams, max_streams = maxStreams, max_all_session_watchers = settings.Watchers + 16,
                max_realtime_speed = 1000, realtime_burst_ms = 3_600_000,
            },
            dashboard = new { enabled = false },
        }));
        Console.WriteLine($"bench grpc: {Cpu()}");
        int hangoverMs = LiveOptions.Load(ProductPaths.Config("live.json")).Vad.MinSilenceMs;
        var (fileName, prefix) = ServerProcess.ThisCli();
        string[] serveArgs = ["--listen", "127.0.0.1:0", "--config", config, .. settings.Model is null ? Array.Empty<string>() : ["--model", settings.Model]];
        await using var server = await ServerProcess.StartAsync(fileName, prefix, serveArgs, TimeSpan.FromMinutes(3)).ConfigureAwait(false);
        string model = server.Log.Split('\n').FirstOrDefault(l => l.StartsWith("model ", StringComparison.Ordinal))?.Trim() ?? "model ?";
        Console.WriteLine($"server: wavfusion serve, pid {server.Id}, {server.GrpcUrl}; {model}");
        Console.WriteLine($"clip: {Path.GetFileName(settings.File)}, {clipSeconds.ToString("F1", CultureInfo.InvariantCulture)} s per stream, paced in real time in 100 ms chunks, interim results on; latency = the results' latency_ms (last sample in -> result out)");

        using var producers = Connect(server.GrpcUrl);
        // Warm-up: a fresh server pays for JIT (tier 0, then tier 1 for what is hot) and the model's first forwards. One
        // stream, then as many concurrent ones as the largest count tried, all sent as fast as the server takes them
        // (within the burst allowance), so the concurrent paths are compiled too: the counts measure a running server.
        await StreamAsync(producers, clip, "bench-warmup", speed: 0, token).ConfigureAwait(false);
        int warmStreams = Math.Min(settings.Streams.Max(), 16);
        var warmClock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, warmStreams).Select(i => Task.Run(() => StreamAsync(producers, clip, $"bench-warmup-{i}", speed: 0, token), token)))
            .ConfigureAwait(false);
        Console.WriteLine(Invariant($"warm-up: 1 stream, then {warmStreams} concurrent, as fast as possible ({warmClock.Elapsed.TotalSeconds:F1} s)"));

        int sustained = 0;
        foreach (int n in settings.Streams)
        {
            var run = await RunStreamsAsync(producers, clip, n, $"bench-{n}", token).ConfigureAwait(false);
            bool ok = run.Completed == n && run.Drops == 0 && run.Interim.P95 < TargetP95Ms && run.FinalProcessing.P95 < TargetP95Ms;
            if (ok) sustained = Math.Max(sustained, n);
            Console.WriteLine(Invariant($"streams N={n}: interim p50 {run.Interim.P50:F0} ms p95 {run.Interim.P95:F0} ms, final processing p50 {run.FinalProcessing.P50:F0} ms p95 {run.FinalProcessing.P95:F0} ms (latency from the last voiced sample p50 {run.Final.P50:F0} ms p95 {run.Final.P95:F0} ms), {run.Results} results ({run.Final.Count} final), drops {run.Drops}, completed {run.Completed}/{n}, completion {run.CompletionSeconds:F1} s ({run.CompletionSeconds / clipSeconds:F2}x the clip), sustained {(ok ? "yes" : "no")}"));
            if (!ok && !settings.All) break;
        }
        Console.WriteLine(Invariant($"sustained: {sustained} concurrent real-time streams at p95 < {TargetP95Ms:F0} ms (interim latency, finals' processing time: their latency adds the VAD's {hangoverMs} ms end-of-speech wait) (target >= {TargetStreams}: {(sustained >= TargetStreams ? "met" : "not met")})"));

        if (settings.Watchers == 0) return;
        int k = Math.Max(1, Math.Min(settings.WatchStreams, Math.Max(sustained, 1)));
        var without = new List<StreamsRun>();
        var with = new List<StreamsRun>();
        var fanOut = new List<WatchRun>();
        for (int r = 0; r < settings.Repeats; r++)
        {
            without.Add(await RunStreamsAsync(producers, clip, k, "bench-alone", token).ConfigureAwait(false));
            var (watched, watch) = await RunWatchedAsync(server.GrpcUrl, producers, clip, k, settings.Watchers, token).ConfigureAwait(false);
            with.Add(watched);
            fanOut.Add(watch);
        }
        double eventsPerSecond = fanOut.Average(w => w.EventsPerSecond);
        Console.WriteLine(Invariant($"watchers: {settings.Watchers} watching all sessions while {k} stream(s) run: {eventsPerSecond:F0} events/s delivered ({eventsPerSecond / settings.Watchers:F1} per watcher), {fanOut.Sum(w => w.Events)} events in all, lost {fanOut.Sum(w => w.Lost)}, watchers that saw every event {fanOut.Min(w => w.Complete)}/{settings.Watchers}"));
        ReportSlowdown(settings.Watchers, without, with);
    }

    /// <summary>The producers' runs without and with the watchers, and the slowdown beside the target.</summary>
    private static void ReportSlowdown(int watchers, List<StreamsRun> without, List<StreamsRun> with)
    {
        Report("producer without watchers", without);
        Report($"producer with {watchers} watchers", with);
        double completionSlowdown = Percent(with.Average(w => w.CompletionSeconds), without.Average(w => w.CompletionSeconds));
        double p95Slowdown = Percent(with.Average(w => w.Interim.P95), without.Average(w => w.Interim.P95));
        double worst = Math.Max(completionSlowdown, p95Slowdown);
        Console.WriteLine(Invariant($"producer slowdown: completion {completionSlowdown:+0.0;-0.0} %, interim p95 latency {p95Slowdown:+0.0;-0.0} % (target <= {TargetSlowdownPercent:F0} %: {(worst <= TargetSlowdownPercent ? "met" : "not met")})"));
    }

    private static void Report(string what, List<StreamsRun> runs) =>
        Console.WriteLine(Invariant($"{what}: completion {runs.Average(r => r.CompletionSeconds):F2} s, interim p50 {runs.Average(r => r.Interim.P50):F0} ms p95 {runs.Average(r => r.Interim.P95):F0} ms, final p95 {runs.Average(r => r.Final.P95):F0} ms, drops {runs.Sum(r => r.Drops)} ({runs.Count} run(s) of {runs[0].Streams} stream(s))"));

    private static double Percent(double with, double without) => without > 0 ? 100 * (with - without) / without : 0;

    private static WavFusionClient Connect(Uri server) =>
        // Kestrel allows 100 concurrent streams per HTTP/2 connection: more connections carry the rest.
        new(server, apiKey: null, new SocketsHttpHandler { EnableMultipleHttp2Connections = true });

    /// <summary>The clip each stream sends: the file, or its first seconds written as a WAV.</summary>
    private static (string Path, double Seconds) PrepareClip(Settings settings, string folder)
    {
        var audio = settings.Seconds > 0
            ? AudioFile.DecodeWithFfmpeg(settings.File, 16_000, 0, settings.Seconds)
            : AudioFile.Load(settings.File);
        if (settings.Seconds <= 0) return (settings.File, audio.Samples.Length / 16_000.0);
        string path = System.IO.Path.Combine(folder, "clip.wav");
        WavFile.Write(path, audio);
        return (path, audio.Samples.Length / 16_000.0);
    }

    private static async Task<StreamsRun> RunStreamsAsync(WavFusionClient client, string clip, int n, string label, CancellationToken token) =>
        (await RunSpreadAsync([client], clip, n, label, token).ConfigureAwait(false)).Run;

    private static StreamsRun Summarise(StreamResult[] runs) =>
        new(runs.Length, runs.Max(r => r.Seconds), Percentiles.Of(runs.SelectMany(r => r.Interim)), Percentiles.Of(runs.SelectMany(r => r.Final)),
            Percentiles.Of(runs.SelectMany(r => r.FinalProcessing)), runs.Sum(r => r.Summary is null ? 0 : r.Summary.Dropped.Values.Sum(v => (long)v)),
            runs.Count(r => r.Summary?.Reason == SessionSummary.Types.EndReason.Completed), runs.Sum(r => r.Events));

    /// <summary>One stream of <paramref name="clip"/> through the product's media feed; wall time from the config to the summary.</summary>
    private static async Task<StreamResult> StreamAsync(WavFusionClient client, string clip, string label, double speed, CancellationToken token)
    {
        var options = new MediaFeedOptions { Label = label, Speed = speed, InterimResults = true };
        List<double> interim = [], final = [], finalProcessing = [];
        List<long> arrivals = [];
        int events = 0;
        SessionSummary? summary = null;
        string? session = null;
        var clock = Stopwatch.StartNew();
        await foreach (var e in client.StreamAsync(options.Config(), MediaFeed.FromFile(clip, options, token), token).ConfigureAwait(false))
        {
            arrivals.Add(Stopwatch.GetTimestamp());
            session ??= e.SessionId;
            events++;
            if (e.Result is { } result)
            {
                (result.IsFinal ? final : interim).Add(result.LatencyMs);
                if (result.IsFinal) finalProcessing.Add(result.ProcessingMs);
            }
            if (e.Summary is not null) summary = e.Summary;
        }
        return new StreamResult(clock.Elapsed.TotalSeconds, interim, final, finalProcessing, events, summary, session, arrivals);
    }

    /// <summary>
    /// <paramref name="watchers"/> watchers of all sessions on their own connections, then <paramref name="k"/> streams
    /// while they watch. Events per second: what all watchers received from the streams' start to the last delivery.
    /// </summary>
    private static async Task<(StreamsRun, WatchRun)> RunWatchedAsync(Uri server, WavFusionClient producers, string clip, int k, int watchers, CancellationToken token)
    {
        using var client = Connect(server);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(token);
        var counts = new long[watchers];
        var lost = new long[watchers];
        long lastDelivery = 0;
        var clock = Stopwatch.StartNew();
        // Subscribed a batch at a time (the server answers a Watch with its headers once the watcher is subscribed), so
        // every watcher is in place before the streams start and connections open at a pace the listener takes.
        var tasks = new List<Task>(watchers);
        var calls = new List<AsyncServerStreamingCall<WatchResponse>>(watchers);
        const int Batch = 50;
        for (int first = 0; first < watchers; first += Batch)
        {
            var batch = Enumerable.Range(first, Math.Min(Batch, watchers - first))
                .Select(_ => client.Monitor.Watch(new WatchRequest(), client.Call(stop.Token))).ToList();
            foreach (var call in batch) await call.ResponseHeadersAsync.ConfigureAwait(false);
            foreach (var (call, i) in batch.Select((c, j) => (c, first + j)))
            {
                calls.Add(call);
                tasks.Add(Task.Run(async () =>
                {
                    try
                    {
                        await foreach (var w in call.ResponseStream.ReadAllAsync(stop.Token).ConfigureAwait(false))
                        {
                            Interlocked.Increment(ref counts[i]);
                            lost[i] = (long)w.DroppedEvents;
                            Interlocked.Exchange(ref lastDelivery, clock.ElapsedTicks);
                        }
                    }
                    catch (Exception e) when (e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled }
                                              || (e is RpcException && stop.IsCancellationRequested))
                    {
                        // Stopped after the run (a read cut by the cancellation may surface as UNAVAILABLE, "request aborted").
                    }
                }, CancellationToken.None));
            }
        }
        Console.WriteLine(Invariant($"  {watchers} watchers subscribed in {clock.Elapsed.TotalSeconds:F1} s"));

        long start = clock.ElapsedTicks;
        var run = await RunStreamsAsync(producers, clip, k, "bench-watched", token).ConfigureAwait(false);
        // Let the fan-out finish: until no watcher has received anything for half a second (10 s at most).
        var settle = Stopwatch.StartNew();
        while (settle.Elapsed < TimeSpan.FromSeconds(10)
               && Stopwatch.GetElapsedTime(0, clock.ElapsedTicks - Interlocked.Read(ref lastDelivery)) < TimeSpan.FromMilliseconds(500))
            await Task.Delay(100, token).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(tasks).ConfigureAwait(false);
        foreach (var call in calls) call.Dispose();

        long total = counts.Sum();
        double seconds = Stopwatch.GetElapsedTime(start, Interlocked.Read(ref lastDelivery)).TotalSeconds;
        var watch = new WatchRun(seconds > 0 ? total / seconds : 0, total, lost.Sum(), counts.Count(c => c >= run.Events));
        return (run, watch);
    }

    private static double Percentile(List<double> sorted, double p)
    {
        if (sorted.Count == 0) return 0;
        int rank = (int)Math.Ceiling(p / 100 * sorted.Count) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Count - 1)];
    }

    /// <summary>The CPU the numbers were measured on: model, cores, and the vector extensions libtorch uses.</summary>
    public static string Cpu()
    {
        string model = "unknown CPU";
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? model;
        }
        catch (IOException)
        {
            // Left unknown.
        }
        string load = "";
        try
        {
            if (File.Exists("/proc/loadavg")) load = $", load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]} at the start";
        }
        catch (IOException)
        {
            // Left out.
        }
        return $"{model}, {Environment.ProcessorCount} core(s), avx2 {(Avx2.IsSupported ? "yes" : "no")}, avx512f {(Avx512F.IsSupported ? "yes" : "no")}{load}";
    }

    private static string Invariant(FormattableString s) => FormattableString.Invariant(s);

    private sealed class ScratchFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("wavfusion-bench-grpc-").FullName;

        public void Dispose()
        {
            try { Directory.Delete(Path, recursive: true); }
            catch (IOException) { }
        }
    }
}
