using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using WavFusion.Api.V1;
using WavFusion.Client;
using WavFusion.Tests.Infrastructure;
using EndReason = WavFusion.Api.V1.SessionSummary.Types.EndReason;

namespace WavFusion.Tests.Server.Bus;

/// <summary>
/// Two real `wavfusion serve` processes on a real nats-server (JetStream on, a temporary store): a watcher on replica A
/// receives a stream pushed into replica B complete and in order; a dashboard opened late replays it; ListSessions on
/// either shows both replicas' sessions; NATS stopped and restarted mid-stream stalls no stream, drops are counted and
/// events flow again; kill -9 of B loses its session on A within the TTL and A's watcher is told.
/// </summary>
public sealed class ScaleOutProcessTests
{
    private const string PushKey = "scale-push-0123456789";
    private const string WatchKey = "scale-watch-0123456789";
    private const double TtlSeconds = 5;

    private static string Jfk => Path.Combine(RepoPaths.Samples, "jfk.flac");

    [SkippableFact]
    public async Task Two_replicas_on_NATS_share_sessions_and_events_survive_an_outage_and_lose_a_killed_replicas_sessions()
    {
        Skip.If(NatsServerProcess.Find() is null, NatsServerProcess.Missing);
        await using var nats = await NatsServerProcess.StartAsync();
        using var dir = new TempDir();
        File.WriteAllText(dir.File("keys.json"), $$"""
            {"keys":[{"name":"pusher","key":"{{PushKey}}","rights":["push"]},{"name":"dashboard","key":"{{WatchKey}}","rights":["watch"]}]}
            """);
        File.WriteAllText(dir.File("server.json"), $$"""
            {
              "limits": { "max_realtime_speed": 1000, "realtime_burst_ms": 3600000 },
              "watch": { "queue_capacity": 4096 },
              "shutdown": { "grace_seconds": 2 },
              "metrics": { "listen": "127.0.0.1:0" },
              "bus": {
                "kind": "nats", "url": "{{nats.Url}}", "heartbeat_seconds": 0.5, "session_ttl_seconds": {{TtlSeconds.ToString(CultureInfo.InvariantCulture)}},
                "reconnect_seconds": 0.2,
                "jetstream": { "enabled": true, "stream": "WF_TEST", "max_age_minutes": 10 }
              }
            }
            """);
        var starting = new[] { ServeProcess.StartAsync(dir.File("keys.json"), dir.File("server.json")), ServeProcess.StartAsync(dir.File("keys.json"), dir.File("server.json")) };
        await Task.WhenAll(starting.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        await using var a = await starting[0];
        var b = await starting[1];
        try
        {
            Assert.NotNull(a.ReplicaId);
            Assert.NotNull(b.ReplicaId);
            Assert.NotEqual(a.ReplicaId, b.ReplicaId);
            using var pushA = new WavFusionClient(a.Url, PushKey);
            using var pushB = new WavFusionClient(b.Url, PushKey);
            using var dashA = new WavFusionClient(a.Url, WatchKey);
            using var dashB = new WavFusionClient(b.Url, WatchKey);
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));

            // 1. A watcher on A receives a stream pushed into B, complete and in order.
            using var watchAll = dashA.Monitor.Watch(new WatchRequest(), dashA.Call(timeout.Token));
            await watchAll.ResponseHeadersAsync;
            var seen = new List<(WatchResponse Response, long At)>();
            var watching = Task.Run(async () =>
            {
                try
                {
                    await foreach (var w in watchAll.ResponseStream.ReadAllAsync(timeout.Token)) lock (seen) seen.Add((w, Stopwatch.GetTimestamp()));
                }
                catch (RpcException)
                {
                }
            });
            var fast = new MediaFeedOptions { Speed = 0, Label = "into-b", InterimResults = true };
            var streamed = new List<StreamingRecognizeResponse>();
            await foreach (var r in pushB.StreamAsync(fast.Config(), MediaFeed.FromFile(Jfk, fast, timeout.Token), timeout.Token)) streamed.Add(r);
            string first = streamed[^1].SessionId;
            Assert.Equal(EndReason.Completed, streamed[^1].Summary.Reason);
            Assert.False(streamed[^1].Summary.Dropped.ContainsKey("bus"));
            await StreamingRecognizeTests.WaitUntilAsync(() => { lock (seen) return seen.Any(s => s.Response.SessionId == first && s.Response.Event.Summary is not null); }, 60);
            lock (seen)
            {
                var mine = seen.Select(s => s.Response).Where(w => w.SessionId == first).ToList();
                Assert.Equal(streamed, mine.Select(w => w.Event));
                Assert.Equal(Enumerable.Range(1, streamed.Count).Select(i => (ulong)i), mine.Select(w => w.Sequence));
                Console.WriteLine($"a watcher on A received all {mine.Count} events of a stream into B, in order "
                                  + $"({streamed.Count(r => r.Result is { IsFinal: true })} final results)");
            }

            // 2. JetStream: a dashboard opened late, on A, replays B's ended session whole.
            using (var late = dashA.Monitor.Watch(new WatchRequest { SessionId = first, ReplaySeconds = 600 }, dashA.Call(timeout.Token)))
            {
                var replayed = new List<WatchResponse>();
                await foreach (var w in late.ResponseStream.ReadAllAsync(timeout.Token)) replayed.Add(w);
                Assert.Equal(streamed, replayed.Select(w => w.Event));
                Assert.All(replayed, w => Assert.True(w.Replayed));
                Console.WriteLine($"a late watcher replayed {replayed.Count} retained events of the ended session");
            }

            // 3. ListSessions on either replica shows both replicas' sessions.
            var paced = new MediaFeedOptions { Label = "on-a" };
            var pacedB = new MediaFeedOptions { Label = "on-b" };
            var onA = Collect(pushA.StreamAsync(paced.Config(), MediaFeed.FromFile(Jfk, paced, timeout.Token), timeout.Token));
            var onB = Collect(pushB.StreamAsync(pacedB.Config(), MediaFeed.FromFile(Jfk, pacedB, timeout.Token), timeout.Token));
            foreach (var dash in new[] { dashA, dashB })
                await StreamingRecognizeTests.WaitUntilAsync(() =>
                {
                    var labels = dash.ListSessionsAsync().Result.Select(s => (s.SessionLabel, s.ReplicaId)).ToList();
                    return labels.Contains(("on-a", a.ReplicaId!)) && labels.Contains(("on-b", b.ReplicaId!));
                }, 60);
            Console.WriteLine("ListSessions on A and on B: both list on-a (replica A) and on-b (replica B)");

            // 4. NATS stopped mid-stream and started again: no stream stalls or fails, drops are counted, events flow again.
            string onBSession = (await dashA.ListSessionsAsync()).Single(s => s.SessionLabel == "on-b").SessionId;
            // Once A's watcher has events of on-b (a loaded machine may take a while to make the first), NATS goes away.
            await StreamingRecognizeTests.WaitUntilAsync(() => { lock (seen) return seen.Any(s => s.Response.SessionId == onBSession); }, 60);
            await nats.StopAsync();
            long stopped = Stopwatch.GetTimestamp();
            await Task.Delay(2500);
            await nats.StartAgainAsync();
            long restarted = Stopwatch.GetTimestamp();
            var (aEvents, aError) = await onA;
            var (bEvents, bError) = await onB;
            Assert.Null(aError);
            Assert.Null(bError);
            foreach (var (events, name) in new[] { (aEvents, "on-a"), (bEvents, "on-b") })
            {
                var summary = events[^1].Summary;
                Assert.Equal(EndReason.Completed, summary.Reason);
                summary.Dropped.TryGetValue("bus", out ulong dropped);
                Console.WriteLine($"{name} across the outage: {summary.AudioDurationMs} ms of audio in {summary.WallDurationMs} ms wall, "
                                  + $"{dropped} event(s) dropped for the bus, {summary.Results} results");
                // Real time: a stall would show as wall time far beyond the audio's (bound generous for a loaded machine).
                Assert.InRange(summary.WallDurationMs, 0, summary.AudioDurationMs + 20_000);
            }
            Assert.True(bEvents[^1].Summary.Dropped.GetValueOrDefault("bus") > 0, "B dropped the events it made while NATS was down, and counted them");
            await StreamingRecognizeTests.WaitUntilAsync(() => { lock (seen) return seen.Any(s => s.Response.SessionId == onBSession && s.Response.Event.Summary is not null); }, 60);
            lock (seen)
            {
                var onBSeen = seen.Where(s => s.Response.SessionId == onBSession).ToList();
                int before = onBSeen.Count(s => s.At < stopped);
                int after = onBSeen.Count(s => s.At > restarted);
                Console.WriteLine($"A's watcher got {before} events of on-b before the outage and {after} after NATS came back");
                Assert.True(before > 0 && after > 0, $"events of on-b before ({before}) and after ({after}) the outage");
                Assert.Equal(EndReason.Completed, onBSeen[^1].Response.Event.Summary.Reason);
            }
            var metricsB = await Scrape(b.MetricsUrl!);
            Assert.Contains("wavfusion_bus_connected 1", metricsB, StringComparison.Ordinal);
            Assert.Matches(@"wavfusion_bus_dropped_total [1-9]", metricsB);
            Assert.Contains("wavfusion_active_sessions 0", metricsB, StringComparison.Ordinal);

            // 5. kill -9 of B mid-stream: A drops its session within the TTL and A's watcher of it is told.
            var doomedFeed = new MediaFeedOptions { Label = "doomed" };
            var doomed = Collect(pushB.StreamAsync(doomedFeed.Config(), MediaFeed.FromFile(Jfk, doomedFeed, timeout.Token), timeout.Token));
            await StreamingRecognizeTests.WaitUntilAsync(() => dashA.ListSessionsAsync().Result.Any(s => s.SessionLabel == "doomed"), 60);
            string doomedId = (await dashA.ListSessionsAsync()).Single(s => s.SessionLabel == "doomed").SessionId;
            using var watchDoomed = dashA.Monitor.Watch(new WatchRequest { SessionId = doomedId }, dashA.Call(timeout.Token));
            await watchDoomed.ResponseHeadersAsync;
            var metricsA = await Scrape(a.MetricsUrl!);
            Assert.Contains("wavfusion_cluster_sessions 1", metricsA, StringComparison.Ordinal);
            await Task.Delay(1000);
            b.Kill9();
            var killed = Stopwatch.StartNew();
            var told = new List<WatchResponse>();
            await foreach (var w in watchDoomed.ResponseStream.ReadAllAsync(timeout.Token)) told.Add(w);
            long toldMs = killed.ElapsedMilliseconds;
            await StreamingRecognizeTests.WaitUntilAsync(() => dashA.ListSessionsAsync().Result.All(s => s.SessionId != doomedId), 60);
            Console.WriteLine($"kill -9 of B: A's watcher told after {toldMs} ms, the session left A's list after {killed.ElapsedMilliseconds} ms (TTL {TtlSeconds} s)");
            Assert.Equal(EndReason.Lost, told[^1].Event.Summary.Reason);
            Assert.Contains(b.ReplicaId!, told[^1].Event.Summary.Detail, StringComparison.Ordinal);
            // The TTL with a heartbeat's slack; far beyond means the sweep does not work (generous for a loaded machine).
            Assert.InRange(toldMs, (long)(TtlSeconds * 1000) - 1500, (long)(TtlSeconds * 1000) + 15_000);
            var (_, doomedError) = await doomed;
            Assert.NotNull(doomedError);

            // The container health check's command: SERVING from a live replica.
            var health = ProcessRunner.Cli("client", "health", "--server", a.Url.ToString());
            Assert.True(health.ExitCode == 0, health.All);
            Assert.Equal("SERVING", health.StdOut.Trim());

            a.Terminate();
            Assert.Equal(0, await a.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            await watching.WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            await b.DisposeAsync();
        }
    }

    private static Task<(List<StreamingRecognizeResponse> Events, Exception? Error)> Collect(IAsyncEnumerable<StreamingRecognizeResponse> stream) => Task.Run(async () =>
    {
        var events = new List<StreamingRecognizeResponse>();
        try
        {
            await foreach (var e in stream) events.Add(e);
            return (events, (Exception?)null);
        }
        catch (Exception e) when (e is RpcException or IOException or InvalidOperationException)
        {
            return (events, e);
        }
    });

    private static async Task<string> Scrape(Uri metrics)
    {
        using var http = new HttpClient();
        return await http.GetStringAsync(metrics);
    }
}
