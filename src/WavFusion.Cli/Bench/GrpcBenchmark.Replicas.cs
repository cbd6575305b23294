using System.Diagnostics;
using System.Text.Json;
using Grpc.Core;
using WavFusion.Api.V1;
using WavFusion.Client;

namespace WavFusion.Cli.Bench;

/// <summary>
/// `wavfusion bench grpc --replicas N --bus nats`: N real `wavfusion serve` processes sharing sessions over a real
/// nats-server (started on a free loopback port), and one more with the in-process hub as the baseline, all fed by real
/// clients over HTTP/2. Streams are spread round robin over the replicas, as a balancer places them.
/// <list type="bullet">
/// <item>Added event latency: for every event, when a watcher of all sessions received it minus when the producer's own
/// stream did (both clocks are this process's). Over the bus that watcher is on another replica than the stream; the
/// baseline is the same streams into the in-process server with its watcher there. Runs alternate, so a loaded
/// machine's noise falls on both; the added p50/p95 is the difference of the pooled percentiles.</item>
/// <item>Events per second through the bus: what watchers received of sessions streaming into another replica, with
/// many watchers spread over the replicas.</item>
/// <item>Producer slowdown: the streams' completion time and interim-result latency with those watchers against none,
/// runs alternating.</item>
/// </list>
/// Printed beside the targets, never asserted.
/// </summary>
internal static partial class GrpcBenchmark
{
    public const double TargetAddedP95Ms = 5;

    /// <summary>A serve process the benchmark uses, with the client its producers share.</summary>
    private sealed class Server(string name, ServerProcess process) : IDisposable
    {
        public string Name { get; } = name;

        public ServerProcess Process { get; } = process;

        public WavFusionClient Client { get; } = Connect(process.GrpcUrl);

        public void Dispose() => Client.Dispose();
    }

    /// <summary>One event as a watcher received it.</summary>
    private readonly record struct Receipt(string Session, ulong Sequence, long At, bool Summary);

    private sealed record BusWatchRun(double BusEventsPerSecond, double EventsPerSecond, long Crossed, long Events, long Lost, int Complete, List<double> Cross);

    private static async Task RunReplicasAsync(Settings settings, int replicaCount, CancellationToken token)
    {
        using var scratch = new ScratchFolder();
        var (clip, clipSeconds) = PrepareClip(settings, scratch.Path);
        int k = settings.WatchStreams;
        Console.WriteLine($"bench grpc: {Cpu()}");
        await using var nats = await NatsServerRunner.StartAsync(jetStream: false).ConfigureAwait(false);

        int watchersPerReplica = (settings.Watchers + replicaCount - 1) / replicaCount;
        string WriteConfig(string name, object? bus)
        {
            string path = Path.Combine(scratch.Path, name + ".json");
            // The product's defaults, with room for this run's streams and watchers (loopback only, no keys) and no
            // rate limit for the warm-up, which sends as fast as the server takes it; the measured streams are paced.
            var limits = new
            {
                max_streams_per_key = k + 4, max_streams = k + 4, max_all_session_watchers = Math.Max(watchersPerReplica, 2) + 16,
                max_realtime_speed = 1000, realtime_burst_ms = 3_600_000,
            };
            File.WriteAllText(path, bus is null
                ? JsonSerializer.Serialize(new { limits, dashboard = new { enabled = false } })
                : JsonSerializer.Serialize(new { limits, dashboard = new { enabled = false }, bus }));
            return path;
        }

        var (fileName, prefix) = ServerProcess.ThisCli();
        string[] Args(string config) => ["--listen", "127.0.0.1:0", "--config", config, .. settings.Model is null ? Array.Empty<string>() : ["--model", settings.Model]];
        var names = Enumerable.Range(1, replicaCount).Select(i => $"bench-{i}").ToList();
        var starting = names.Select(name => ServerProcess.StartAsync(fileName, prefix,
                Args(WriteConfig(name, new { kind = "nats", url = nats.Url, replica_id = name, heartbeat_seconds = 1, session_ttl_seconds = 10 })),
                TimeSpan.FromMinutes(3)))
            .Append(ServerProcess.StartAsync(fileName, prefix, Args(WriteConfig("inprocess", null)), TimeSpan.FromMinutes(3)))
            .ToList();
        var servers = new List<Server>();
        try
        {
            try
            {
                await Task.WhenAll(starting).ConfigureAwait(false);
            }
            finally
            {
                // Those that started are stopped at the end, whether or not the others did.
                foreach (var (task, i) in starting.Select((t, i) => (t, i)).Where(p => p.t.IsCompletedSuccessfully))
                    servers.Add(new Server(i < replicaCount ? names[i] : "in-process", task.Result));
            }
            var replicas = servers.Take(replicaCount).ToList();
            var inProcess = servers[replicaCount];
            Console.WriteLine($"nats-server: {nats.Url}, pid {nats.Id}");
            foreach (var r in replicas)
            {
                string busLine = r.Process.Log.Split('\n').FirstOrDefault(l => l.StartsWith("bus: ", StringComparison.Ordinal))?.Trim() ?? "bus: ?";
                Console.WriteLine($"replica {r.Name}: wavfusion serve, pid {r.Process.Id}, {r.Process.GrpcUrl}; {busLine}");
            }
            Console.WriteLine($"in-process: wavfusion serve, pid {inProcess.Process.Id}, {inProcess.Process.GrpcUrl}; the in-process hub (the latency baseline)");
            string model = replicas[0].Process.Log.Split('\n').FirstOrDefault(l => l.StartsWith("model ", StringComparison.Ordinal))?.Trim() ?? "model ?";
            Console.WriteLine(model);
            Console.WriteLine(Invariant($"clip: {Path.GetFileName(settings.File)}, {clipSeconds:F1} s per stream, paced in real time in 100 ms chunks, interim results on; {k} stream(s) spread round robin over the {replicaCount} replicas"));

            // Warm-up: each server's first stream pays for JIT and the model's first forwards (within the burst allowance).
            await Task.WhenAll(servers.Select(s => StreamAsync(s.Client, clip, $"bench-warmup-{s.Name}", speed: 0, token))).ConfigureAwait(false);

            var inProcessDeltas = new List<double>();
            var busDeltas = new List<double>();
            var sameReplicaDeltas = new List<double>();
            for (int r = 0; r < settings.Repeats; r++)
            {
                var (_, local) = await LatencyRunAsync([inProcess], [inProcess], clip, k, $"bench-local-{r}", token).ConfigureAwait(false);
                var (cross, same) = await LatencyRunAsync(replicas, replicas, clip, k, $"bench-bus-{r}", token).ConfigureAwait(false);
                inProcessDeltas.AddRange(local);
                busDeltas.AddRange(cross);
                sameReplicaDeltas.AddRange(same);
                var l = Percentiles.Of(local);
                var c = Percentiles.Of(cross);
                Console.WriteLine(Invariant($"  latency run {r + 1}: in process p50 {l.P50:F2} ms p95 {l.P95:F2} ms ({l.Count} events); over the bus p50 {c.P50:F2} ms p95 {c.P95:F2} ms ({c.Count} events)"));
            }
            var inProc = Percentiles.Of(inProcessDeltas);
            var overBus = Percentiles.Of(busDeltas);
            var sameReplica = Percentiles.Of(sameReplicaDeltas);
            double addedP50 = overBus.P50 - inProc.P50, addedP95 = overBus.P95 - inProc.P95;
            Console.WriteLine(Invariant($"event latency (a watcher's receipt minus the producer's own, same event): in process p50 {inProc.P50:F2} ms p95 {inProc.P95:F2} ms ({inProc.Count} events); ")
                              + Invariant($"over the bus (watcher on another replica) p50 {overBus.P50:F2} ms p95 {overBus.P95:F2} ms ({overBus.Count} events); ")
                              + Invariant($"watcher on the producer's replica p50 {sameReplica.P50:F2} ms p95 {sameReplica.P95:F2} ms"));
            Console.WriteLine(Invariant($"added by the bus: p50 {addedP50:+0.00;-0.00} ms, p95 {addedP95:+0.00;-0.00} ms (target p95 < {TargetAddedP95Ms:F0} ms on loopback: {(addedP95 < TargetAddedP95Ms ? "met" : "not met")})"));

            if (settings.Watchers == 0) return;
            var without = new List<StreamsRun>();
            var with = new List<StreamsRun>();
            var fanOut = new List<BusWatchRun>();
            for (int r = 0; r < settings.Repeats; r++)
            {
                without.Add((await RunSpreadAsync(replicas.Select(s => s.Client).ToList(), clip, k, "bench-alone", token).ConfigureAwait(false)).Run);
                var (watched, watch) = await RunWatchedReplicasAsync(replicas, clip, k, settings.Watchers, token).ConfigureAwait(false);
                with.Add(watched);
                fanOut.Add(watch);
            }
            string spread = string.Join(", ", replicas.Select((s, i) => $"{Enumerable.Range(0, settings.Watchers).Count(w => w % replicaCount == i)} on {s.Name}"));
            Console.WriteLine(Invariant($"watchers: {settings.Watchers} watching all sessions ({spread}) while {k} stream(s) run: {fanOut.Average(w => w.BusEventsPerSecond):F0} events/s delivered through the bus ")
                              + Invariant($"(of {fanOut.Average(w => w.EventsPerSecond):F0} events/s delivered in all), {fanOut.Sum(w => w.Crossed)} of {fanOut.Sum(w => w.Events)} events through the bus, ")
                              + Invariant($"lost {fanOut.Sum(w => w.Lost)}, watchers that saw every event {fanOut.Min(w => w.Complete)}/{settings.Watchers}"));
            var loaded = Percentiles.Of(fanOut.SelectMany(w => w.Cross));
            Console.WriteLine(Invariant($"  with them, a watcher on another replica than the stream: p50 {loaded.P50:F2} ms p95 {loaded.P95:F2} ms after the producer ({loaded.Count} events)"));
            ReportSlowdown(settings.Watchers, without, with);
        }
        finally
        {
            foreach (var s in servers)
            {
                s.Dispose();
                await s.Process.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary><paramref name="n"/> paced streams, stream i into <paramref name="clients"/>[i mod count]; each result with the index of its client.</summary>
    private static async Task<(StreamsRun Run, (StreamResult Result, int Client)[] Streams)> RunSpreadAsync(IReadOnlyList<WavFusionClient> clients, string clip, int n, string label,
        CancellationToken token)
    {
        var runs = await Task.WhenAll(Enumerable.Range(0, n).Select(i => Task.Run(async () =>
                (await StreamAsync(clients[i % clients.Count], clip, $"{label}-{i}", speed: 1, token).ConfigureAwait(false), i % clients.Count), token)))
            .ConfigureAwait(false);
        return (Summarise(runs.Select(r => r.Item1).ToArray()), runs);
    }

    /// <summary>
    /// One watcher of all sessions on each of <paramref name="watched"/>, then <paramref name="k"/> streams spread over
    /// <paramref name="producers"/>: for every event, the watcher's receipt minus the producer's, split by whether the
    /// watcher is on the stream's own server or another.
    /// </summary>
    private static async Task<(List<double> Cross, List<double> Same)> LatencyRunAsync(IReadOnlyList<Server> producers, IReadOnlyList<Server> watched, string clip, int k,
        string label, CancellationToken token)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(token);
        var receipts = watched.Select(_ => new List<Receipt>()).ToArray();
        var calls = new List<AsyncServerStreamingCall<WatchResponse>>();
        var readers = new List<Task>();
        try
        {
            foreach (var (server, i) in watched.Select((s, i) => (s, i)))
            {
                var call = server.Client.Monitor.Watch(new WatchRequest(), server.Client.Call(stop.Token));
                calls.Add(call);
                await call.ResponseHeadersAsync.ConfigureAwait(false);
                readers.Add(ReadReceiptsAsync(call, receipts[i], stop.Token));
            }
            var (_, streams) = await RunSpreadAsync(producers.Select(p => p.Client).ToList(), clip, k, label, token).ConfigureAwait(false);
            var sessions = streams.Where(s => s.Result.SessionId is not null).ToDictionary(s => s.Result.SessionId!, s => s);
            // Until every watcher has every stream's summary (10 s at most): then all its events are in.
            var settle = Stopwatch.StartNew();
            while (settle.Elapsed < TimeSpan.FromSeconds(10) && !receipts.All(list =>
                   {
                       lock (list) return sessions.Keys.All(s => list.Any(r => r.Summary && r.Session == s));
                   }))
                await Task.Delay(50, token).ConfigureAwait(false);
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(readers).ConfigureAwait(false);

            List<double> cross = [], same = [];
            foreach (var (list, i) in receipts.Select((l, i) => (l, i)))
            {
                foreach (var r in list)
                {
                    if (!sessions.TryGetValue(r.Session, out var stream) || r.Sequence < 1 || r.Sequence > (ulong)stream.Result.Arrivals.Count) continue;
                    double ms = (r.At - stream.Result.Arrivals[(int)r.Sequence - 1]) * 1000.0 / Stopwatch.Frequency;
                    (ReferenceEquals(producers[stream.Client], watched[i]) ? same : cross).Add(ms);
                }
            }
            return (cross, same);
        }
        finally
        {
            foreach (var call in calls) call.Dispose();
        }
    }

    private static Task ReadReceiptsAsync(AsyncServerStreamingCall<WatchResponse> call, List<Receipt> into, CancellationToken token) => Task.Run(async () =>
    {
        try
        {
            await foreach (var w in call.ResponseStream.ReadAllAsync(token).ConfigureAwait(false))
            {
                long at = Stopwatch.GetTimestamp();
                lock (into) into.Add(new Receipt(w.SessionId, w.Sequence, at, w.Event?.Summary is not null));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled } || (e is RpcException && token.IsCancellationRequested))
        {
            // Stopped after the run.
        }
    }, CancellationToken.None);

    /// <summary>
    /// <paramref name="watchers"/> watchers of all sessions, watcher i on replica i mod count, then <paramref name="k"/>
    /// streams spread over the replicas while they watch: what they received, and of it what came through the bus (events
    /// of a stream into another replica than the watcher's). The first watcher on each replica also times its receipts.
    /// </summary>
    private static async Task<(StreamsRun, BusWatchRun)> RunWatchedReplicasAsync(IReadOnlyList<Server> replicas, string clip, int k, int watchers, CancellationToken token)
    {
        var clients = replicas.Select(r => Connect(r.Process.GrpcUrl)).ToList();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(token);
        var perSession = Enumerable.Range(0, watchers).Select(_ => new Dictionary<string, long>(StringComparer.Ordinal)).ToArray();
        var lost = new long[watchers];
        var timed = replicas.Select(_ => new List<Receipt>()).ToArray();
        long lastDelivery = 0;
        var tasks = new List<Task>(watchers);
        var calls = new List<AsyncServerStreamingCall<WatchResponse>>(watchers);
        try
        {
            var clock = Stopwatch.StartNew();
            // A batch at a time (a Watch's response headers come once it is subscribed), so all are in place before the
            // streams start and connections open at a pace the listeners take.
            const int Batch = 50;
            for (int first = 0; first < watchers; first += Batch)
            {
                var batch = Enumerable.Range(first, Math.Min(Batch, watchers - first))
                    .Select(i => (Index: i, Call: clients[i % clients.Count].Monitor.Watch(new WatchRequest(), clients[i % clients.Count].Call(stop.Token)))).ToList();
                foreach (var (_, call) in batch) await call.ResponseHeadersAsync.ConfigureAwait(false);
                foreach (var (i, call) in batch)
                {
                    calls.Add(call);
                    var counts = perSession[i];
                    var times = i < replicas.Count ? timed[i] : null;
                    tasks.Add(Task.Run(async () =>
                    {
                        try
                        {
                            await foreach (var w in call.ResponseStream.ReadAllAsync(stop.Token).ConfigureAwait(false))
                            {
                                long at = Stopwatch.GetTimestamp();
                                counts[w.SessionId] = counts.GetValueOrDefault(w.SessionId) + 1;
                                lost[i] = (long)w.DroppedEvents;
                                Interlocked.Exchange(ref lastDelivery, at);
                                if (times is not null) lock (times) times.Add(new Receipt(w.SessionId, w.Sequence, at, w.Event?.Summary is not null));
                            }
                        }
                        catch (Exception e) when (e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled }
                                                  || (e is RpcException && stop.IsCancellationRequested))
                        {
                            // Stopped after the run.
                        }
                    }, CancellationToken.None));
                }
            }
            Console.WriteLine(Invariant($"  {watchers} watchers subscribed over {replicas.Count} replicas in {clock.Elapsed.TotalSeconds:F1} s"));

            long start = Stopwatch.GetTimestamp();
            var (run, streams) = await RunSpreadAsync(replicas.Select(r => r.Client).ToList(), clip, k, "bench-watched", token).ConfigureAwait(false);
            var settle = Stopwatch.StartNew();
            while (settle.Elapsed < TimeSpan.FromSeconds(10) && Stopwatch.GetElapsedTime(Interlocked.Read(ref lastDelivery)) < TimeSpan.FromMilliseconds(500))
                await Task.Delay(100, token).ConfigureAwait(false);
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(tasks).ConfigureAwait(false);

            var home = streams.Where(s => s.Result.SessionId is not null).ToDictionary(s => s.Result.SessionId!, s => s);
            long total = 0, crossed = 0;
            int complete = 0;
            for (int i = 0; i < watchers; i++)
            {
                long mine = 0;
                foreach (var (session, count) in perSession[i])
                {
                    if (!home.TryGetValue(session, out var stream)) continue;
                    mine += count;
                    if (stream.Client != i % replicas.Count) crossed += count;
                }
                total += mine;
                if (mine >= run.Events) complete++;
            }
            var cross = new List<double>();
            foreach (var (list, i) in timed.Select((l, i) => (l, i)))
            {
                foreach (var r in list)
                {
                    if (!home.TryGetValue(r.Session, out var stream) || stream.Client == i || r.Sequence < 1 || r.Sequence > (ulong)stream.Result.Arrivals.Count) continue;
                    cross.Add((r.At - stream.Result.Arrivals[(int)r.Sequence - 1]) * 1000.0 / Stopwatch.Frequency);
                }
            }
            double seconds = Stopwatch.GetElapsedTime(start, Interlocked.Read(ref lastDelivery)).TotalSeconds;
            return (run, new BusWatchRun(seconds > 0 ? crossed / seconds : 0, seconds > 0 ? total / seconds : 0, crossed, total, lost.Sum(), complete, cross));
        }
        finally
        {
            foreach (var call in calls) call.Dispose();
            foreach (var client in clients) client.Dispose();
        }
    }
}
