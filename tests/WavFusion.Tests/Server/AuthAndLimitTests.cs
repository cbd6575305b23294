using System.Runtime.CompilerServices;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using WavFusion.Api.V1;
using WavFusion.Client;
using WavFusion.Server;
using EndReason = WavFusion.Api.V1.SessionSummary.Types.EndReason;

namespace WavFusion.Tests.Server;

/// <summary>API keys and rights, every limit with its status code, health and reflection, and shutdown, on the in-memory host.</summary>
[Collection(ServerCollection.Name)]
public sealed class AuthAndLimitTests(ServerRuntimeFixture fixture)
{
    private const int ChunkBytes = 3200;

    [Fact]
    public async Task A_missing_or_unknown_key_is_unauthenticated_and_a_key_without_the_right_is_denied()
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime, keys: InMemoryServer.Keys());
        using var none = server.Client();
        using var wrong = server.Client("not-a-key-of-this-server");
        using var pusher = server.Client(InMemoryServer.PushKey);
        using var watcher = server.Client(InMemoryServer.WatchKey);
        using var both = server.Client(InMemoryServer.BothKey);

        var missing = await StreamErrorAsync(none);
        Assert.Equal(StatusCode.Unauthenticated, missing.StatusCode);
        Assert.Contains("x-api-key", missing.Status.Detail, StringComparison.Ordinal);
        var unknown = await Assert.ThrowsAsync<RpcException>(() => wrong.ListSessionsAsync());
        Assert.Equal(StatusCode.Unauthenticated, unknown.StatusCode);
        Assert.DoesNotContain("not-a-key", unknown.Status.Detail, StringComparison.Ordinal);
        var unary = await Assert.ThrowsAsync<RpcException>(async () => await none.Recognizer.RecognizeAsync(new RecognizeRequest(), none.Call()));
        Assert.Equal(StatusCode.Unauthenticated, unary.StatusCode);

        var watchPushing = await StreamErrorAsync(watcher);
        Assert.Equal(StatusCode.PermissionDenied, watchPushing.StatusCode);
        Assert.Contains("'watcher' lacks the push right", watchPushing.Status.Detail, StringComparison.Ordinal);
        var pushWatching = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in pusher.WatchAsync(null)) { }
        });
        Assert.Equal(StatusCode.PermissionDenied, pushWatching.StatusCode);

        // The rights each key has do work.
        Assert.Empty(await watcher.ListSessionsAsync());
        var (responses, error) = await ServerAudio.RunAsync(both, ServerAudio.Config(), ServerAudio.Chunks(new byte[ChunkBytes], ChunkBytes));
        Assert.Null(error);
        Assert.Equal(EndReason.Completed, responses[^1].Summary.Reason);
    }

    [Fact]
    public async Task Health_and_reflection_answer_without_a_key()
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime, keys: InMemoryServer.Keys());
        using var client = server.Client();
        var health = new Health.HealthClient(client.Channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving,
            (await health.CheckAsync(new HealthCheckRequest { Service = "wavfusion.v1.EmotionRecognizer" })).Status);

        var v1 = new Grpc.Reflection.V1.ServerReflection.ServerReflectionClient(client.Channel);
        using (var call = v1.ServerReflectionInfo())
        {
            await call.RequestStream.WriteAsync(new Grpc.Reflection.V1.ServerReflectionRequest { ListServices = "" });
            await call.RequestStream.CompleteAsync();
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            var names = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
            Assert.Contains("wavfusion.v1.EmotionRecognizer", names);
            Assert.Contains("wavfusion.v1.SessionMonitor", names);
            Assert.Contains("grpc.health.v1.Health", names);
        }
        var v1alpha = new Grpc.Reflection.V1Alpha.ServerReflection.ServerReflectionClient(client.Channel);
        using (var call = v1alpha.ServerReflectionInfo())
        {
            await call.RequestStream.WriteAsync(new Grpc.Reflection.V1Alpha.ServerReflectionRequest { FileContainingSymbol = "wavfusion.v1.EmotionRecognizer" });
            await call.RequestStream.CompleteAsync();
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.NotEmpty(call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto);
        }
    }

    [Fact]
    public async Task A_20_MB_message_is_resource_exhausted_on_a_stream_and_on_Recognize()
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime);
        using var client = server.Client();
        var big = new byte[20 * 1024 * 1024];
        var (responses, error) = await ServerAudio.RunAsync(client, ServerAudio.Config(), ServerAudio.Of(
            new StreamingRecognizeRequest { Audio = new Api.V1.AudioChunk { Data = ByteString.CopyFrom(new byte[ChunkBytes]) } },
            new StreamingRecognizeRequest { Audio = new Api.V1.AudioChunk { Data = ByteString.CopyFrom(big) } }));
        Assert.NotNull(error);
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Equal(EndReason.LimitExceeded, responses[^1].Summary.Reason);
        Assert.Equal(100, responses[^1].Summary.AudioDurationMs);

        var unary = await Assert.ThrowsAsync<RpcException>(async () => await client.Recognizer.RecognizeAsync(
            new RecognizeRequest { Config = ServerAudio.Config(), Audio = ByteString.CopyFrom(big) }, client.Call()));
        Assert.Equal(StatusCode.ResourceExhausted, unary.StatusCode);
        // The server is fine afterwards.
        var (after, afterError) = await ServerAudio.RunAsync(client, ServerAudio.Config(), ServerAudio.Chunks(new byte[ChunkBytes], ChunkBytes));
        Assert.Null(afterError);
        Assert.Equal(EndReason.Completed, after[^1].Summary.Reason);
    }

    [Fact]
    public async Task Media_faster_than_real_time_beyond_the_burst_is_resource_exhausted()
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime,
            InMemoryServer.FastOptions(l => l with { MaxRealtimeSpeed = 1.0, RealtimeBurstMs = 1000 }));
        using var client = server.Client();
        var (responses, error) = await ServerAudio.RunAsync(client, ServerAudio.Config(), ServerAudio.Chunks(new byte[5 * 32_000], ChunkBytes));
        Assert.NotNull(error);
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("limits.max_realtime_speed", error.Status.Detail, StringComparison.Ordinal);
        var summary = responses[^1].Summary;
        Assert.Equal(EndReason.LimitExceeded, summary.Reason);
        Assert.InRange(summary.AudioDurationMs, 900, 4000);

        // A whole clip (Recognize) is not paced.
        var clip = await client.Recognizer.RecognizeAsync(new RecognizeRequest { Config = ServerAudio.Config(), Audio = ByteString.CopyFrom(new byte[5 * 32_000]) }, client.Call());
        Assert.Equal(EndReason.Completed, clip.Summary.Reason);
    }

    [Fact]
    public async Task A_stream_longer_than_the_limit_is_deadline_exceeded_in_stream_time_and_in_wall_time()
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime, InMemoryServer.FastOptions(l => l with { MaxStreamSeconds = 2 }));
        using var client = server.Client();
        var (responses, error) = await ServerAudio.RunAsync(client, ServerAudio.Config(), ServerAudio.Chunks(new byte[3 * 32_000], ChunkBytes));
        Assert.Equal(StatusCode.DeadlineExceeded, error!.StatusCode);
        Assert.Contains("limits.max_stream_seconds", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(2000, responses[^1].Summary.AudioDurationMs);

        // A caller that sends nothing after its config is ended by the wall clock.
        var (idle, idleError) = await ServerAudio.RunAsync(client, ServerAudio.Config(), Held());
        Assert.Equal(StatusCode.DeadlineExceeded, idleError!.StatusCode);
        Assert.Equal(EndReason.LimitExceeded, idle[^1].Summary.Reason);
        Assert.InRange(idle[^1].Summary.WallDurationMs, 1900, 60_000);

        // Nor may one that never sends its config hold its slot for longer.
        using var call = client.Recognizer.StreamingRecognize(client.Call());
        var silent = await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.DeadlineExceeded, silent.StatusCode);
        Assert.Contains("no config", silent.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task More_concurrent_streams_than_a_key_may_open_are_unavailable()
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime,
            InMemoryServer.FastOptions(l => l with { MaxStreamsPerKey = 1, MaxStreams = 2 }), InMemoryServer.Keys());
        using var pusher = server.Client(InMemoryServer.PushKey);
        using var both = server.Client(InMemoryServer.BothKey);
        using var hold = new CancellationTokenSource();
        var first = ServerAudio.RunAsync(pusher, ServerAudio.Config(), Held(), hold.Token);
        await StreamingRecognizeTests.WaitUntilAsync(() => server.Context.Streams.Open == 1);

        var second = await StreamErrorAsync(pusher);
        Assert.Equal(StatusCode.Unavailable, second.StatusCode);
        Assert.Contains("limits.max_streams_per_key", second.Status.Detail, StringComparison.Ordinal);
        // Another key still has room, until the server's own limit.
        var other = ServerAudio.RunAsync(both, ServerAudio.Config(), Held(), hold.Token);
        await StreamingRecognizeTests.WaitUntilAsync(() => server.Context.Streams.Open == 2);
        var third = await Assert.ThrowsAsync<RpcException>(async () =>
            await both.Recognizer.RecognizeAsync(new RecognizeRequest { Config = ServerAudio.Config() }, both.Call()));
        Assert.Equal(StatusCode.Unavailable, third.StatusCode);
        Assert.Contains("limits.max_streams", third.Status.Detail, StringComparison.Ordinal);

        await hold.CancelAsync();
        await Task.WhenAll(first, other);
        await StreamingRecognizeTests.WaitUntilAsync(() => server.Context.Streams.Open == 0);
        var (again, againError) = await ServerAudio.RunAsync(pusher, ServerAudio.Config(), ServerAudio.Chunks(new byte[ChunkBytes], ChunkBytes));
        Assert.Null(againError);
        Assert.Equal(EndReason.Completed, again[^1].Summary.Reason);
    }

    [Fact]
    public async Task More_watchers_than_the_limits_are_resource_exhausted_and_an_unknown_session_is_not_found()
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime,
            InMemoryServer.FastOptions(l => l with { MaxWatchersPerSession = 1, MaxAllSessionWatchers = 1 }));
        using var client = server.Client();
        using var hold = new CancellationTokenSource();
        var stream = ServerAudio.RunAsync(client, ServerAudio.Config(), Held(), hold.Token);
        await StreamingRecognizeTests.WaitUntilAsync(() => server.Context.Streams.Open == 1);
        string session = (await client.ListSessionsAsync()).Single().SessionId;

        using var stopWatching = new CancellationTokenSource();
        var one = Drain(client.WatchAsync(session, stopWatching.Token));
        var all = Drain(client.WatchAsync(null, stopWatching.Token));
        await StreamingRecognizeTests.WaitUntilAsync(() => server.Hub.AllSessionWatchers == 1 && server.Hub.WatchersOf(session) == 1);
        var secondOne = await Assert.ThrowsAsync<RpcException>(() => Drain(client.WatchAsync(session)));
        Assert.Equal(StatusCode.ResourceExhausted, secondOne.StatusCode);
        Assert.Contains("limits.max_watchers_per_session", secondOne.Status.Detail, StringComparison.Ordinal);
        var secondAll = await Assert.ThrowsAsync<RpcException>(() => Drain(client.WatchAsync(null)));
        Assert.Equal(StatusCode.ResourceExhausted, secondAll.StatusCode);
        Assert.Contains("limits.max_all_session_watchers", secondAll.Status.Detail, StringComparison.Ordinal);
        var unknown = await Assert.ThrowsAsync<RpcException>(() => Drain(client.WatchAsync("s-unknown")));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);

        await hold.CancelAsync();
        await stream;
        // Watching one session ends with it.
        Assert.Equal(EndReason.Cancelled, (await one).Single(w => w.Event.Summary is not null).Event.Summary.Reason);
        await stopWatching.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => all);
    }

    [Fact]
    public async Task Client_text_far_ahead_of_its_audio_is_resource_exhausted()
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime, InMemoryServer.FastOptions(l => l with { MaxPendingTranscripts = 2 }));
        using var client = server.Client();
        var config = ServerAudio.Config();
        config.ClientTranscripts = true;
        var text = Enumerable.Range(0, 3).Select(i => new StreamingRecognizeRequest
        {
            Transcript = new TranscriptText { Text = "word", StartOffsetMs = i * 1000, EndOffsetMs = i * 1000 + 500, IsFinal = true },
        }).ToArray();
        var (_, error) = await ServerAudio.RunAsync(client, config, ServerAudio.Of(text));
        Assert.Equal(StatusCode.ResourceExhausted, error!.StatusCode);
        Assert.Contains("limits.max_pending_transcripts", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task On_shutdown_health_turns_not_serving_at_once_new_streams_are_refused_and_open_ones_end_with_a_summary()
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime);
        using var client = server.Client();
        var speech = ServerAudio.Linear16(ServerAudio.Jfk[..(3 * 16_000)]);
        var open = ServerAudio.RunAsync(client, ServerAudio.Config(), Held(new StreamingRecognizeRequest { Audio = new Api.V1.AudioChunk { Data = ByteString.CopyFrom(speech) } }));
        await StreamingRecognizeTests.WaitUntilAsync(() => server.Context.Streams.Open == 1);

        server.App.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        var health = new Health.HealthClient(client.Channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest())).Status);
        var refused = await StreamErrorAsync(client);
        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Contains("shutting down", refused.Status.Detail, StringComparison.Ordinal);

        // Grace is 1 s in the test options: then the input is cut, the 3 s received are analysed, the summary follows.
        var (responses, error) = await open;
        Assert.Equal(StatusCode.Unavailable, error!.StatusCode);
        var summary = responses[^1].Summary;
        Assert.Equal(EndReason.Shutdown, summary.Reason);
        Assert.Equal(3000, summary.AudioDurationMs);
        Assert.Equal((ulong)responses.Count(r => r.Result is { IsFinal: true }), summary.FinalResults);
        Assert.True(summary.FinalResults > 0, "the audio received before the cut was not analysed to its end");
    }

    private static async Task<RpcException> StreamErrorAsync(WavFusionClient client)
    {
        var (_, error) = await ServerAudio.RunAsync(client, ServerAudio.Config(), ServerAudio.Of());
        return Assert.IsType<RpcException>(error);
    }

    /// <summary><paramref name="first"/>, then nothing until the call ends: a caller that keeps its stream open.</summary>
    private static async IAsyncEnumerable<StreamingRecognizeRequest> Held(StreamingRecognizeRequest? first = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (first is not null) yield return first;
        await Task.Delay(Timeout.Infinite, cancellationToken);
        yield break;
    }

    private static async Task<List<WatchResponse>> Drain(IAsyncEnumerable<WatchResponse> watch)
    {
        var all = new List<WatchResponse>();
        await foreach (var w in watch) all.Add(w);
        return all;
    }
}
