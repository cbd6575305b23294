using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Grpc.Core;
using WavFusion.Api.V1;
using WavFusion.Client;
using WavFusion.Core.Audio;
using WavFusion.Tests.Infrastructure;
using EndReason = WavFusion.Api.V1.SessionSummary.Types.EndReason;
using Role = WavFusion.Api.V1.ChannelRole.Types.Role;

namespace WavFusion.Tests.Server;

/// <summary>
/// `wavfusion serve` as a real process on 127.0.0.1 with the real client over HTTP/2: eight concurrent streams
/// (jfk.flac, and a stereo call whose agent channel is never analysed) beside a watcher that keeps up and one that
/// never reads, a caller cancelling mid-stream, and SIGTERM during a stream.
/// </summary>
public sealed class ServeProcessTests
{
    private const string PushKey = "process-push-0123456789";
    private const string WatchKey = "process-watch-0123456789";

    [Fact]
    public async Task A_served_process_streams_concurrently_frees_a_cancelled_session_and_shuts_down_gracefully_on_SIGTERM()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("keys.json"), $$"""
            {"keys":[{"name":"pusher","key":"{{PushKey}}","rights":["push"]},{"name":"dashboard","key":"{{WatchKey}}","rights":["watch"]}]}
            """);
        File.WriteAllText(dir.File("server.json"), """
            {
              "limits": { "max_realtime_speed": 1000, "realtime_burst_ms": 3600000 },
              "watch": { "queue_capacity": 4096 },
              "shutdown": { "grace_seconds": 2 }
            }
            """);
        var jfk = AudioFile.Load(Path.Combine(RepoPaths.Samples, "jfk.flac")).Samples;
        WavFile.WriteChannels(dir.File("call.wav"), 16_000, jfk, jfk);

        await using var server = await ServeProcess.StartAsync(dir.File("keys.json"), dir.File("server.json"));
        using var pusher = new WavFusionClient(server.Url, PushKey);
        using var dashboard = new WavFusionClient(server.Url, WatchKey);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));

        // A watcher that keeps up, and one that never reads: neither may slow the streams.
        using var watch = dashboard.Monitor.Watch(new WatchRequest(), dashboard.Call(timeout.Token));
        await watch.ResponseHeadersAsync;
        using var slowWatch = dashboard.Monitor.Watch(new WatchRequest(), dashboard.Call(timeout.Token));
        await slowWatch.ResponseHeadersAsync;
        var watched = new List<WatchResponse>();
        var watching = Task.Run(async () =>
        {
            await foreach (var w in watch.ResponseStream.ReadAllAsync(timeout.Token)) lock (watched) watched.Add(w);
        });

        var mono = new MediaFeedOptions { Speed = 0, Label = "jfk" };
        var call = new MediaFeedOptions { Speed = 0, Channels = 2, Roles = [Role.Agent, Role.Customer], Label = "call" };
        var clock = Stopwatch.StartNew();
        var streams = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            var (path, options) = i == 0 ? (dir.File("call.wav"), call) : (Path.Combine(RepoPaths.Samples, "jfk.flac"), mono);
            var responses = new List<StreamingRecognizeResponse>();
            await foreach (var r in pusher.StreamAsync(options.Config(), MediaFeed.FromFile(path, options, timeout.Token), timeout.Token)) responses.Add(r);
            return responses;
        })).ToList();
        var all = await Task.WhenAll(streams);
        Console.WriteLine($"8 concurrent streams of 11 s each, as fast as the server takes them: {clock.Elapsed.TotalSeconds:0.0} s");

        foreach (var (responses, i) in all.Select((r, i) => (r, i)))
        {
            var summary = responses[^1].Summary;
            Assert.NotNull(summary);
            Assert.Equal(EndReason.Completed, summary.Reason);
            var finals = responses.Where(r => r.Result is { IsFinal: true }).Select(r => r.Result).ToList();
            Assert.NotEmpty(finals);
            Assert.All(finals, r => Assert.Equal(i == 0 ? 1u : 0u, r.Channel));
            Assert.Equal((ulong)finals.Count, summary.FinalResults);
            Console.WriteLine($"stream {i}: {finals.Count} final results, latency p50 {summary.LatencyP50Ms} ms, p95 {summary.LatencyP95Ms} ms");
        }

        // Every final result each streamer received also reached the watcher that kept up, before its session's summary.
        var sessions = all.Select(r => r[^1].SessionId).ToHashSet();
        await StreamingRecognizeTests.WaitUntilAsync(() =>
        {
            lock (watched) return sessions.All(s => watched.Any(w => w.SessionId == s && w.Event.Summary is not null));
        }, 120);
        lock (watched)
        {
            Assert.All(watched, w => Assert.Equal(0ul, w.DroppedEvents));
            foreach (var responses in all)
            {
                string session = responses[^1].SessionId;
                var seen = watched.Where(w => w.SessionId == session && w.Event.Result is { IsFinal: true }).Select(w => w.Event.Result);
                Assert.Equal(responses.Where(r => r.Result is { IsFinal: true }).Select(r => r.Result), seen);
            }
        }

        // A caller that cancels mid-stream leaves the session list at once.
        using var cancel = new CancellationTokenSource();
        var paced = new MediaFeedOptions { Label = "cancelled" };
        var cancelled = Task.Run(async () =>
        {
            await foreach (var _ in pusher.StreamAsync(paced.Config(), MediaFeed.FromFile(Path.Combine(RepoPaths.Samples, "jfk.flac"), paced, cancel.Token), cancel.Token)) { }
        });
        await StreamingRecognizeTests.WaitUntilAsync(() => dashboard.ListSessionsAsync().Result.Any(s => s.SessionLabel == "cancelled"));
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => cancelled);
        var left = Stopwatch.StartNew();
        await StreamingRecognizeTests.WaitUntilAsync(() => dashboard.ListSessionsAsync().Result.Count == 0);
        Console.WriteLine($"a cancelled session left ListSessions {left.ElapsedMilliseconds} ms after the caller cancelled");

        // The command-line client: every response a JSON line, the summary last; a refusal is one error line.
        var cli = ProcessRunner.Cli("client", "stream", "--server", server.Url.ToString(), "--api-key", PushKey,
            "--file", Path.Combine(RepoPaths.Samples, "jfk.flac"), "--speed", "0");
        Assert.True(cli.ExitCode == 0, cli.All);
        var lines = cli.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => StreamingRecognizeResponse.Parser.ParseJson(l)).ToList();
        Assert.Equal(EndReason.Completed, lines[^1].Summary.Reason);
        Assert.Equal((ulong)lines.Count(l => l.Result is { IsFinal: true }), lines[^1].Summary.FinalResults);
        var denied = ProcessRunner.Cli("client", "watch", "--server", server.Url.ToString(), "--api-key", PushKey);
        Assert.Equal(1, denied.ExitCode);
        Assert.StartsWith("error: server: PermissionDenied: key 'pusher' lacks the watch right", denied.StdErr.Trim(), StringComparison.Ordinal);

        // SIGTERM during a real-time stream: it runs on through the 2 s grace, is cut, analysed to its end and summarised.
        var realtime = new MediaFeedOptions { Label = "sigterm" };
        var last = Task.Run(async () =>
        {
            var responses = new List<StreamingRecognizeResponse>();
            try
            {
                await foreach (var r in pusher.StreamAsync(realtime.Config(), MediaFeed.FromFile(Path.Combine(RepoPaths.Samples, "jfk.flac"), realtime, timeout.Token), timeout.Token))
                    responses.Add(r);
                return (responses, (RpcException?)null);
            }
            catch (RpcException e)
            {
                return (responses, e);
            }
        });
        await StreamingRecognizeTests.WaitUntilAsync(() => dashboard.ListSessionsAsync().Result.Any(s => s.SessionLabel == "sigterm"));
        await Task.Delay(1000);
        server.Terminate();
        var (lastResponses, lastError) = await last;
        Assert.Equal(StatusCode.Unavailable, lastError?.StatusCode);
        var lastSummary = lastResponses[^1].Summary;
        Assert.Equal(EndReason.Shutdown, lastSummary.Reason);
        Assert.InRange(lastSummary.AudioDurationMs, 2000, 10_000);
        Assert.Equal((ulong)lastResponses.Count(r => r.Result is { IsFinal: true }), lastSummary.FinalResults);
        var exit = await server.WaitForExitAsync(TimeSpan.FromSeconds(90));
        Assert.True(exit == 0, $"serve exited {exit}\n{server.Output}");
        Assert.Contains("stopped", server.Output, StringComparison.Ordinal);
        // Watching all sessions ends normally when the server has shut down, the sigterm session's summary last.
        await watching.WaitAsync(TimeSpan.FromSeconds(30));
        lock (watched) Assert.Equal(EndReason.Shutdown, watched.Last(w => w.Event.Summary is not null).Event.Summary.Reason);
        Console.WriteLine($"SIGTERM: the stream was cut after {lastSummary.AudioDurationMs} ms of audio with {lastSummary.FinalResults} final results");
    }
}
