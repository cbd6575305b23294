using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using WavFusion.Api.V1;
using WavFusion.Server;
using WavFusion.Server.Sessions;
using WavFusion.Server.Sessions.Bus;
using EndReason = WavFusion.Api.V1.SessionSummary.Types.EndReason;

namespace WavFusion.Tests.Server.Bus;

/// <summary>
/// Two NATS session hubs (two replicas' worth, in one process) on a real nats-server: sessions and events cross the bus
/// in order, a silent replica's sessions are lost after the TTL, an outage never stalls a producer, and JetStream
/// replays what it retained. The same hubs run in two real `wavfusion serve` processes in <see cref="ScaleOutProcessTests"/>.
/// </summary>
public sealed class NatsSessionHubTests
{
    private static ServerOptions Options(string url, string replica, bool jetStream = false, double ttl = 1.5) => new()
    {
        Bus = new BusOptions
        {
            Kind = BusOptions.Nats,
            Url = url,
            ReplicaId = replica,
            HeartbeatSeconds = 0.25,
            SessionTtlSeconds = ttl,
            ReconnectSeconds = 0.2,
            JetStream = new JetStreamOptions { Enabled = jetStream, Stream = "TEST_EVENTS", Storage = "memory", MaxAgeMinutes = 5 },
        },
        Watch = new WatchOptions { QueueCapacity = 100_000 },
    };

    private static NatsSessionHub Hub(string url, string replica, bool jetStream = false, double ttl = 1.5) =>
        new(Options(url, replica, jetStream, ttl), NullLoggerFactory.Instance);

    private static StreamingRecognizeResponse Speech(string session, int i) =>
        new() { SessionId = session, SpeechEvent = new SpeechEvent { OffsetMs = i } };

    private static StreamingRecognizeResponse Final(string session, int i) =>
        new() { SessionId = session, Result = new EmotionResult { IsFinal = true, StartOffsetMs = i, TopLabel = "calm" } };

    private static async Task<List<WatchResponse>> ReadAsync(IWatchSubscription watch, int count, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var got = new List<WatchResponse>();
        try
        {
            await foreach (var w in watch.ReadAllAsync(cts.Token))
            {
                got.Add(w);
                if (got.Count == count) break;
            }
        }
        catch (OperationCanceledException)
        {
        }
        return got;
    }

    [SkippableFact]
    public async Task Sessions_and_events_cross_the_bus_in_order_and_a_silent_replicas_sessions_are_lost_after_the_TTL()
    {
        Skip.If(NatsServerProcess.Find() is null, NatsServerProcess.Missing);
        await using var nats = await NatsServerProcess.StartAsync();
        await using var a = Hub(nats.Url, "replica-a");
        var b = Hub(nats.Url, "replica-b");
        try
        {
            Assert.True(await a.WaitConnectedAsync(TimeSpan.FromSeconds(30)) && await b.WaitConnectedAsync(TimeSpan.FromSeconds(30)), nats.Output);
            await using var all = await a.WatchAsync(null, TimeSpan.Zero, CancellationToken.None);

            var one = await b.OpenAsync(new SessionInfo { SessionId = "s-1", SessionLabel = "first", StartedUnixMs = 1 }, CancellationToken.None);
            await StreamingRecognizeTests.WaitUntilAsync(() => a.ListAsync(CancellationToken.None).AsTask().Result.Any(s => s.SessionId == "s-1"));
            var listed = (await a.ListAsync(CancellationToken.None)).Single();
            Assert.Equal(("first", "replica-b"), (listed.SessionLabel, listed.ReplicaId));

            const int events = 500;
            for (int i = 0; i < events; i++) one.Publish(Speech("s-1", i));
            one.Publish(new StreamingRecognizeResponse { SessionId = "s-1", Summary = new SessionSummary { Reason = EndReason.Completed } });
            await one.DisposeAsync();
            var got = await ReadAsync(all, events + 1, TimeSpan.FromSeconds(60));
            Assert.Equal(events + 1, got.Count);
            Assert.Equal(Enumerable.Range(0, events).Select(i => (long)i), got.Take(events).Select(w => w.Event.SpeechEvent.OffsetMs));
            Assert.Equal(Enumerable.Range(1, events + 1).Select(i => (ulong)i), got.Select(w => w.Sequence));
            Assert.Equal(EndReason.Completed, got[^1].Event.Summary.Reason);
            Assert.Equal(0, one.Dropped);
            await StreamingRecognizeTests.WaitUntilAsync(() => a.ListAsync(CancellationToken.None).AsTask().Result.Count == 0);

            // A replica that goes silent (its process killed: no end, no more heartbeats) loses its sessions after the TTL.
            var two = await b.OpenAsync(new SessionInfo { SessionId = "s-2", StartedUnixMs = 2 }, CancellationToken.None);
            await StreamingRecognizeTests.WaitUntilAsync(() => a.ListAsync(CancellationToken.None).AsTask().Result.Any(s => s.SessionId == "s-2"));
            await using var watchTwo = await a.WatchAsync("s-2", TimeSpan.Zero, CancellationToken.None);
            two.Publish(Speech("s-2", 7));
            var clock = Stopwatch.StartNew();
            await b.DisposeAsync();
            var told = await ReadAsync(watchTwo, 10, TimeSpan.FromSeconds(30));
            Console.WriteLine($"a silent replica's session was lost {clock.ElapsedMilliseconds} ms after it went quiet (TTL 1.5 s, heartbeat 0.25 s)");
            Assert.Equal(2, told.Count);
            Assert.Equal(7, told[0].Event.SpeechEvent.OffsetMs);
            Assert.Equal(EndReason.Lost, told[1].Event.Summary.Reason);
            Assert.Contains("replica-b", told[1].Event.Summary.Detail, StringComparison.Ordinal);
            Assert.Empty(await a.ListAsync(CancellationToken.None));
            Assert.Contains(a.Metrics(), m => m.Name == "wavfusion_bus_sessions_lost_total" && m.Value == 1);
        }
        finally
        {
            await b.DisposeAsync();
        }
    }

    [SkippableFact]
    public async Task A_bus_outage_never_stalls_a_producer_drops_are_counted_and_events_flow_again_after_it()
    {
        Skip.If(NatsServerProcess.Find() is null, NatsServerProcess.Missing);
        await using var nats = await NatsServerProcess.StartAsync();
        await using var a = Hub(nats.Url, "replica-a", ttl: 30);
        await using var b = Hub(nats.Url, "replica-b", ttl: 30);
        Assert.True(await a.WaitConnectedAsync(TimeSpan.FromSeconds(30)) && await b.WaitConnectedAsync(TimeSpan.FromSeconds(30)), nats.Output);
        var session = await b.OpenAsync(new SessionInfo { SessionId = "s-1" }, CancellationToken.None);
        await StreamingRecognizeTests.WaitUntilAsync(() => a.ListAsync(CancellationToken.None).AsTask().Result.Count == 1);
        await using var watch = await a.WatchAsync("s-1", TimeSpan.Zero, CancellationToken.None);
        var received = new List<WatchResponse>();
        var reading = Task.Run(async () =>
        {
            await foreach (var w in watch.ReadAllAsync(CancellationToken.None)) lock (received) received.Add(w);
        });
        session.Publish(Speech("s-1", 0));
        await StreamingRecognizeTests.WaitUntilAsync(() => { lock (received) return received.Count == 1; });

        await nats.StopAsync();
        await StreamingRecognizeTests.WaitUntilAsync(() => !b.Connected);
        // Published while NATS is down: each call returns at once, whatever the bus does.
        var slowest = TimeSpan.Zero;
        for (int i = 1; i <= 2000; i++)
        {
            long t = Stopwatch.GetTimestamp();
            session.Publish(Speech("s-1", i));
            var took = Stopwatch.GetElapsedTime(t);
            if (took > slowest) slowest = took;
        }
        await StreamingRecognizeTests.WaitUntilAsync(() => b.Pending == 0);
        Console.WriteLine($"2000 events published during the outage: slowest Publish {slowest.TotalMilliseconds:0.000} ms, {session.Dropped} dropped for the bus");
        Assert.Equal(2000, session.Dropped);
        Assert.InRange(slowest, TimeSpan.Zero, TimeSpan.FromSeconds(1));

        await nats.StartAgainAsync();
        var back = Stopwatch.StartNew();
        await StreamingRecognizeTests.WaitUntilAsync(() => a.Connected && b.Connected, 60);
        Console.WriteLine($"both replicas reconnected {back.ElapsedMilliseconds} ms after nats-server restarted");
        // Events flow again: the mirror survived (the outage was shorter than the TTL), or came back with the next heartbeat.
        int n = 2001;
        await StreamingRecognizeTests.WaitUntilAsync(() =>
        {
            session.Publish(Speech("s-1", n++));
            Thread.Sleep(50);
            lock (received) return received.Any(w => w.Event.SpeechEvent?.OffsetMs > 2000);
        }, 60);
        lock (received)
        {
            var after = received.Where(w => w.Event.SpeechEvent?.OffsetMs > 2000).ToList();
            Assert.True(after.Zip(after.Skip(1)).All(p => p.First.Sequence < p.Second.Sequence), "events after the outage arrive in order");
            // The sequence numbers show the gap the outage left.
            Assert.True(after[0].Sequence > 2001, $"first event after the outage has sequence {after[0].Sequence}");
        }
        Assert.Equal(1, b.Metrics().Single(m => m.Name == "wavfusion_bus_connected").Value);
        Assert.True(b.Metrics().Single(m => m.Name == "wavfusion_bus_dropped_total").Value >= 2000);
        await session.DisposeAsync();
        await reading.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [SkippableFact]
    public async Task With_JetStream_a_late_watcher_replays_retained_events_then_goes_live_and_a_durable_consumer_reads_every_final()
    {
        Skip.If(NatsServerProcess.Find() is null, NatsServerProcess.Missing);
        await using var nats = await NatsServerProcess.StartAsync();
        // A TTL far above any stall of a loaded test machine: this test is about retention, not liveness.
        await using var b = Hub(nats.Url, "replica-b", jetStream: true, ttl: 60);
        Assert.True(await b.WaitConnectedAsync(TimeSpan.FromSeconds(30)), nats.Output);
        await using var client = new NatsConnection(new NatsOpts { Url = nats.Url });
        var js = new NatsJSContext(client);
        await StreamingRecognizeTests.WaitUntilAsync(() =>
        {
            try { return js.GetStreamAsync("TEST_EVENTS").AsTask().Result is not null; }
            catch (AggregateException) { return false; }
        });
        // An analytics consumer: durable, every final result of every session.
        await js.CreateOrUpdateConsumerAsync("TEST_EVENTS", new ConsumerConfig("analytics")
        {
            FilterSubject = b.Subjects.AllFinals,
            DeliverPolicy = ConsumerConfigDeliverPolicy.All,
            AckPolicy = ConsumerConfigAckPolicy.Explicit,
        });

        var session = await b.OpenAsync(new SessionInfo { SessionId = "s-1" }, CancellationToken.None);
        for (int i = 0; i < 30; i++) session.Publish(i % 3 == 0 ? Final("s-1", i) : Speech("s-1", i));

        // A dashboard opened now on another replica replays the 30 events, then receives the next ones live.
        await using var a = Hub(nats.Url, "replica-a", jetStream: true, ttl: 60);
        Assert.True(await a.WaitConnectedAsync(TimeSpan.FromSeconds(30)));
        await StreamingRecognizeTests.WaitUntilAsync(() => a.ListAsync(CancellationToken.None).AsTask().Result.Count == 1);
        await StreamingRecognizeTests.WaitUntilAsync(() => js.GetStreamAsync("TEST_EVENTS").AsTask().Result.Info.State.Messages >= 30);
        await using var late = await a.WatchAsync("s-1", TimeSpan.FromMinutes(1), CancellationToken.None);
        for (int i = 30; i < 40; i++) session.Publish(i % 3 == 0 ? Final("s-1", i) : Speech("s-1", i));
        session.Publish(new StreamingRecognizeResponse { SessionId = "s-1", Summary = new SessionSummary { Reason = EndReason.Completed } });
        await session.DisposeAsync();
        var got = await ReadAsync(late, 41, TimeSpan.FromSeconds(60));
        Assert.Equal(41, got.Count);
        Assert.Equal(Enumerable.Range(1, 41).Select(i => (ulong)i), got.Select(w => w.Sequence));
        Assert.True(got.Take(30).All(w => w.Replayed), "the first 30 were replayed");
        Assert.True(got.Skip(30).All(w => !w.Replayed), "the rest came live");
        Assert.NotNull(got[^1].Event.Summary);

        // An ended session is replayed whole while retained.
        await StreamingRecognizeTests.WaitUntilAsync(() => a.ListAsync(CancellationToken.None).AsTask().Result.Count == 0);
        await using var after = await a.WatchAsync("s-1", TimeSpan.FromMinutes(1), CancellationToken.None);
        var replayed = await ReadAsync(after, 100, TimeSpan.FromSeconds(30));
        Assert.Equal(got.Select(w => w.Event), replayed.Select(w => w.Event));
        Assert.All(replayed, w => Assert.True(w.Replayed));
        var unknown = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await a.WatchAsync("s-unknown", TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.Equal(Grpc.Core.StatusCode.NotFound, unknown.StatusCode);

        var consumer = await js.GetConsumerAsync("TEST_EVENTS", "analytics");
        var finals = new List<long>();
        await foreach (var msg in consumer.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = 100 }, NatsRawSerializer<byte[]>.Default))
        {
            finals.Add(StreamingRecognizeResponse.Parser.ParseFrom(msg.Data).Result.StartOffsetMs);
            await msg.AckAsync();
        }
        Assert.Equal(Enumerable.Range(0, 40).Where(i => i % 3 == 0).Select(i => (long)i), finals);
    }
}
