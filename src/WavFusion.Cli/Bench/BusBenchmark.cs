using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using WavFusion.Api.V1;
using WavFusion.Server;
using WavFusion.Server.Sessions;
using WavFusion.Server.Sessions.Bus;

namespace WavFusion.Cli.Bench;

/// <summary>
/// `wavfusion bench bus`: what the NATS session hub adds, measured on two replicas' hubs in one process over a real
/// nats-server (started on a free loopback port unless --nats names one): events per second through the bus, the
/// latency a watcher on the other replica sees against a watcher of an in-process hub, and how much a producer slows
/// down with many watchers spread over both replicas. The gRPC layer is not in these numbers (that is `bench grpc`).
/// </summary>
internal static class BusBenchmark
{
    public static Command CreateCommand()
    {
        var nats = new Option<string?>("--nats") { Description = "a NATS server URL; default: start nats-server on a free loopback port" };
        var events = new Option<int>("--events") { Description = "events published as fast as possible for the throughput run", DefaultValueFactory = _ => 50_000 };
        var rate = new Option<double>("--rate") { Description = "events per second of the paced latency and slowdown runs (a replica's 64 sessions make ~100)", DefaultValueFactory = _ => 200 };
        var seconds = new Option<double>("--seconds") { Description = "length of each paced run", DefaultValueFactory = _ => 5 };
        var watchers = new Option<int>("--watchers") { Description = "watchers of all sessions for the slowdown run, half on each replica", DefaultValueFactory = _ => 1000 };
        var work = new Option<double>("--work-ms") { Description = "the producer's own work per event in the slowdown run (a stand-in for the pipeline; scoring one window takes longer)", DefaultValueFactory = _ => 2 };
        var jetstream = new Option<bool>("--jetstream") { Description = "with JetStream retention of every event (a memory stream)" };
        var command = new Command("bus", "Events through NATS between two replicas' session hubs: throughput, added latency, producer slowdown with many watchers")
        {
            nats, events, rate, seconds, watchers, work, jetstream,
        };
        command.SetAction(async (parse, token) =>
        {
            int n = parse.GetValue(events);
            if (n <= 0) throw new OptionValueException("--events", $"{n} is not positive");
            double r = parse.GetValue(rate);
            if (!(r > 0 && r <= 100_000)) throw new OptionValueException("--rate", $"{r} is not between 0 and 100000");
            double s = parse.GetValue(seconds);
            if (!(s > 0 && s <= 600)) throw new OptionValueException("--seconds", $"{s} is not between 0 and 600");
            int w = parse.GetValue(watchers);
            if (w is < 2 or > 2048) throw new OptionValueException("--watchers", $"{w} is not between 2 and 2048 (limits.max_all_session_watchers is per replica)");
            double ms = parse.GetValue(work);
            if (!(ms >= 0 && ms < 1000 / r)) throw new OptionValueException("--work-ms", $"{ms} is not between 0 and the pace's {1000 / r:0.###} ms per event");
            await RunAsync(parse.GetValue(nats), n, r, s, w, ms, parse.GetValue(jetstream), token).ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    private static ServerOptions Options(string url, string replica, int watchers, bool jetstream) => new()
    {
        Bus = new BusOptions
        {
            Kind = BusOptions.Nats,
            Url = url,
            ReplicaId = replica,
            HeartbeatSeconds = 1,
            SessionTtlSeconds = 30,
            BufferMessages = 8192,
            JetStream = new JetStreamOptions { Enabled = jetstream, Stream = "WAVFUSION_BENCH", Storage = "memory", MaxAgeMinutes = 5 },
        },
        Limits = new LimitOptions { MaxAllSessionWatchers = Math.Max(1024, watchers) },
        Watch = new WatchOptions { QueueCapacity = 4096 },
    };

    private static async Task RunAsync(string? url, int events, double rate, double seconds, int watchers, double workMs, bool jetstream, CancellationToken token)
    {
        NatsServerRunner? server = null;
        try
        {
            if (url is null)
            {
                server = await NatsServerRunner.StartAsync(jetStream: true).ConfigureAwait(false);
                url = server.Url;
                Console.WriteLine($"nats-server started on {url} (JetStream store {server.Store})");
            }
            await using var a = new NatsSessionHub(Options(url, "bench-a", watchers, jetstream), NullLoggerFactory.Instance);
            await using var b = new NatsSessionHub(Options(url, "bench-b", watchers, jetstream), NullLoggerFactory.Instance);
            if (!await a.WaitConnectedAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false) || !await b.WaitConnectedAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false))
                throw new IOException($"{url}: cannot connect to NATS");
            Console.WriteLine($"two replicas' hubs (bench-a produces, bench-b watches) on {url}; {Environment.ProcessorCount} core(s); JetStream retention {(jetstream ? "on" : "off")}");
            Console.WriteLine();

            await ThroughputAsync(a, b, events, token).ConfigureAwait(false);
            var added = await LatencyAsync(a, b, rate, seconds, token).ConfigureAwait(false);
            var slowdown = await SlowdownAsync(a, b, rate, seconds, watchers, workMs, token).ConfigureAwait(false);

            Console.WriteLine();
            Console.WriteLine("targets (loopback):");
            Console.WriteLine($"  added event latency p95 {added:0.000} ms   target < 5 ms   {(added < 5 ? "met" : "NOT met")}");
            Console.WriteLine($"  producer slowdown {slowdown:0.0} % with {watchers} watchers   target < 5 %   {(slowdown < 5 ? "met" : "NOT met")}");
        }
        finally
        {
            if (server is not null) await server.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Events published as fast as possible on A, counted as B's watcher receives them.</summary>
    private static async Task ThroughputAsync(NatsSessionHub a, NatsSessionHub b, int events, CancellationToken token)
    {
        await using var watch = await b.WatchAsync(null, TimeSpan.Zero, token).ConfigureAwait(false);
        var session = await OpenAsync(a, b, "s-throughput", token).ConfigureAwait(false);
        long published0 = a.Published;
        long received = 0;
        long last = 0;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(token);
        var reading = Task.Run(async () =>
        {
            try
            {
                await foreach (var _ in watch.ReadAllAsync(stop.Token).ConfigureAwait(false))
                {
                    received++;
                    last = Stopwatch.GetTimestamp();
                    if (received == events) break;
                }
            }
            catch (OperationCanceledException)
            {
            }
        }, CancellationToken.None);
        long start = Stopwatch.GetTimestamp();
        // In bursts the outbox holds (it drops beyond its bound, as it should), so the run measures the bus, not the drops.
        for (int i = 0; i < events; i++)
        {
            session.Publish(Stamped("s-throughput", i));
            if (i % 4096 == 4095)
                while (a.Published - published0 < i - 2048) await Task.Yield();
        }
        var producing = Stopwatch.GetElapsedTime(start);
        while (received < events && Stopwatch.GetElapsedTime(last == 0 ? start : last) < TimeSpan.FromSeconds(3)) await Task.Delay(20, token).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        await reading.ConfigureAwait(false);
        var span = Stopwatch.GetElapsedTime(start, last == 0 ? start : last);
        Console.WriteLine($"throughput: {events:N0} events published on A in {producing.TotalMilliseconds:0} ms; B received {received:N0} in {span.TotalMilliseconds:0} ms: "
                          + $"{(span > TimeSpan.Zero ? received / span.TotalSeconds : 0):N0} events/s through the bus ({session.Dropped:N0} dropped at the outbox bound, "
                          + $"{b.Metrics().Single(m => m.Name == "wavfusion_bus_receive_dropped_total").Value:N0} by B reading too slowly)");
        await session.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Paced events on A; each carries its publish time. A watcher on B (through the bus) against one on an in-process
    /// hub (the single-server path): the difference is what the bus adds.
    /// </summary>
    private static async Task<double> LatencyAsync(NatsSessionHub a, NatsSessionHub b, double rate, double seconds, CancellationToken token)
    {
        await using var local = new InProcessSessionHub(new ServerOptions { Watch = new WatchOptions { QueueCapacity = 4096 } });
        var inProcess = await PacedLatencyAsync(local, local, "s-local", rate, seconds, token).ConfigureAwait(false);
        var bus = await PacedLatencyAsync(a, b, "s-latency", rate, seconds, token).ConfigureAwait(false);
        Console.WriteLine($"latency at {rate:0} events/s for {seconds:0.#} s, publish to a watcher's read:");
        Console.WriteLine($"  in process (one server)        p50 {inProcess.P50:0.000} ms   p95 {inProcess.P95:0.000} ms   ({inProcess.Count} events)");
        Console.WriteLine($"  over NATS (watcher on B)       p50 {bus.P50:0.000} ms   p95 {bus.P95:0.000} ms   ({bus.Count} events)");
        double added95 = bus.P95 - inProcess.P95;
        Console.WriteLine($"  added by the bus               p50 {bus.P50 - inProcess.P50:0.000} ms   p95 {added95:0.000} ms");
        return added95;
    }

    private sealed record Percentiles(double P50, double P95, int Count);

    private static async Task<Percentiles> PacedLatencyAsync(ISessionHub producer, ISessionHub watcherHub, string id, double rate, double seconds, CancellationToken token)
    {
        await using var watch = await watcherHub.WatchAsync(null, TimeSpan.Zero, token).ConfigureAwait(false);
        var session = producer is NatsSessionHub p && watcherHub is NatsSessionHub w
            ? await OpenAsync(p, w, id, token).ConfigureAwait(false)
            : await producer.OpenAsync(new SessionInfo { SessionId = id }, token).ConfigureAwait(false);
        int total = (int)(rate * seconds);
        var latencies = new List<double>(total);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(token);
        var reading = Task.Run(async () =>
        {
            try
            {
                await foreach (var r in watch.ReadAllAsync(stop.Token).ConfigureAwait(false))
                {
                    if (r.SessionId != id || r.Event.SpeechEvent is null) continue;
                    latencies.Add(Stopwatch.GetElapsedTime(r.Event.SpeechEvent.OffsetMs).TotalMilliseconds);
                    if (latencies.Count == total) break;
                }
            }
            catch (OperationCanceledException)
            {
            }
        }, CancellationToken.None);
        await PaceAsync(total, rate, i => session.Publish(Stamped(id, i)), 0, token).ConfigureAwait(false);
        var deadline = Stopwatch.GetTimestamp();
        while (latencies.Count < total && Stopwatch.GetElapsedTime(deadline) < TimeSpan.FromSeconds(5)) await Task.Delay(20, token).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        await reading.ConfigureAwait(false);
        await session.DisposeAsync().ConfigureAwait(false);
        latencies.Sort();
        return latencies.Count == 0 ? new Percentiles(double.NaN, double.NaN, 0)
            : new Percentiles(latencies[latencies.Count / 2], latencies[Math.Min(latencies.Count - 1, (int)(latencies.Count * 0.95))], latencies.Count);
    }

    /// <summary>
    /// A paced producer that works <paramref name="workMs"/> per event, then publishes it: its mean time per event in
    /// process with no watchers, against on the bus with <paramref name="watchers"/> watchers of all sessions, half on
    /// each replica, all reading. The two alternate three times (a loaded machine's noise hits both) and the medians
    /// are compared: the slowdown is the relative growth of that time.
    /// </summary>
    private static async Task<double> SlowdownAsync(NatsSessionHub a, NatsSessionHub b, double rate, double seconds, int watchers, double workMs, CancellationToken token)
    {
        const int rounds = 3;
        int total = (int)(rate * seconds / rounds);
        var subscriptions = new List<IWatchSubscription>();
        for (int i = 0; i < watchers; i++) subscriptions.Add(await (i % 2 == 0 ? a : b).WatchAsync(null, TimeSpan.Zero, token).ConfigureAwait(false));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(token);
        var counts = new long[watchers];
        var readers = subscriptions.Select((s, i) => Task.Run(async () =>
        {
            try
            {
                await foreach (var _ in s.ReadAllAsync(stop.Token).ConfigureAwait(false)) counts[i]++;
            }
            catch (OperationCanceledException)
            {
            }
        }, CancellationToken.None)).ToList();
        await using var local = new InProcessSessionHub(new ServerOptions());
        var alone = await local.OpenAsync(new SessionInfo { SessionId = "s-alone" }, token).ConfigureAwait(false);
        var session = await OpenAsync(a, b, "s-watched", token).ConfigureAwait(false);
        var baseline = new List<double>();
        var watched = new List<double>();
        for (int round = 0; round < rounds; round++)
        {
            baseline.Add(await PaceAsync(total, rate, i => alone.Publish(Stamped("s-alone", i)), workMs, token).ConfigureAwait(false));
            watched.Add(await PaceAsync(total, rate, i => session.Publish(Stamped("s-watched", i)), workMs, token).ConfigureAwait(false));
        }
        await Task.Delay(1000, token).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(readers).ConfigureAwait(false);
        long dropped = subscriptions.Sum(s => s.Dropped);
        foreach (var s in subscriptions) await s.DisposeAsync().ConfigureAwait(false);
        await session.DisposeAsync().ConfigureAwait(false);
        await alone.DisposeAsync().ConfigureAwait(false);

        baseline.Sort();
        watched.Sort();
        double slowdown = (watched[rounds / 2] / baseline[rounds / 2] - 1) * 100;
        string Each(List<double> v) => string.Join(", ", v.Select(x => x.ToString("0.000", CultureInfo.InvariantCulture)));
        Console.WriteLine($"producer at {rate:0} events/s, {workMs:0.###} ms of its own work per event, {rounds} alternating rounds of {total} events:");
        Console.WriteLine($"  in process, no watchers                 median {baseline[rounds / 2]:0.000} ms per event (work + publish; rounds {Each(baseline)})");
        Console.WriteLine($"  over NATS, {watchers} watchers ({watchers - watchers / 2} on A, {watchers / 2} on B)   median {watched[rounds / 2]:0.000} ms per event (rounds {Each(watched)})");
        Console.WriteLine($"  slowdown {slowdown:0.0} %; the watchers read {counts.Sum():N0} events in all (each of {rounds * total} published: least {counts.Min():N0}, "
                          + $"most {counts.Max():N0}), {dropped:N0} dropped from slow watchers' queues");
        return slowdown;
    }

    /// <summary>Runs <paramref name="publish"/> <paramref name="total"/> times at <paramref name="rate"/>, each after <paramref name="workMs"/> of busy work; the mean busy-plus-publish time per event, in ms.</summary>
    private static async Task<double> PaceAsync(int total, double rate, Action<int> publish, double workMs, CancellationToken token)
    {
        long start = Stopwatch.GetTimestamp();
        double busy = 0;
        for (int i = 0; i < total; i++)
        {
            var due = TimeSpan.FromSeconds(i / rate);
            var wait = due - Stopwatch.GetElapsedTime(start);
            if (wait > TimeSpan.FromMilliseconds(1)) await Task.Delay(wait, token).ConfigureAwait(false);
            long t = Stopwatch.GetTimestamp();
            while (Stopwatch.GetElapsedTime(t).TotalMilliseconds < workMs) Thread.SpinWait(20);
            publish(i);
            busy += Stopwatch.GetElapsedTime(t).TotalMilliseconds;
        }
        return busy / total;
    }

    /// <summary>Opens a session on <paramref name="producer"/> and waits until <paramref name="watcher"/> lists it.</summary>
    private static async Task<ISessionPublisher> OpenAsync(NatsSessionHub producer, NatsSessionHub watcher, string id, CancellationToken token)
    {
        var session = await producer.OpenAsync(new SessionInfo { SessionId = id, StartedUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() }, token).ConfigureAwait(false);
        var start = Stopwatch.GetTimestamp();
        while (!(await watcher.ListAsync(token).ConfigureAwait(false)).Any(s => s.SessionId == id))
        {
            if (Stopwatch.GetElapsedTime(start) > TimeSpan.FromSeconds(10)) throw new IOException($"replica {watcher.ReplicaId} did not hear of session {id} within 10 s");
            await Task.Delay(10, token).ConfigureAwait(false);
        }
        return session;
    }

    /// <summary>An event the size of a speech event, carrying its publish time (Stopwatch ticks) in its offset.</summary>
    private static StreamingRecognizeResponse Stamped(string session, int i) =>
        new() { SessionId = session, SpeechEvent = new SpeechEvent { OffsetMs = Stopwatch.GetTimestamp(), Channel = (uint)(i & 1) } };
}
