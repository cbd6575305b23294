using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using WavFusion.Api.V1;
using WavFusion.Client;
using Role = WavFusion.Api.V1.ChannelRole.Types.Role;
using EndReason = WavFusion.Api.V1.SessionSummary.Types.EndReason;

namespace WavFusion.Tests.Server;

/// <summary>StreamingRecognize and Recognize on the in-memory host: results, channels and roles, the summary, protocol errors.</summary>
[Collection(ServerCollection.Name)]
public sealed class StreamingRecognizeTests(ServerRuntimeFixture fixture)
{
    private const int ChunkBytes = 3200; // 100 ms of 16 kHz LINEAR16 mono

    [Fact]
    public async Task A_stream_gets_final_results_on_its_channel_and_a_watcher_that_kept_up_gets_every_one_of_them()
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime);
        using var client = server.Client();
        // Watch all sessions before the stream starts, reading everything into memory as it comes.
        using var stopWatching = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var watched = Channel.CreateUnbounded<WatchResponse>();
        var watch = Task.Run(async () =>
        {
            await foreach (var e in client.WatchAsync(null, stopWatching.Token)) await watched.Writer.WriteAsync(e);
        });
        await WaitUntilAsync(() => server.Hub.AllSessionWatchers == 1);

        var config = ServerAudio.Config(encoding: AudioFormat.Types.Encoding.Float32, sampleRate: 16_000);
        config.InterimResults = true;
        var (responses, error) = await ServerAudio.RunAsync(client, config, ServerAudio.Chunks(ServerAudio.Float32(ServerAudio.Jfk), 6400));

        Assert.Null(error);
        var results = responses.Where(r => r.Result is not null).Select(r => r.Result).ToList();
        var finals = results.Where(r => r.IsFinal).ToList();
        Assert.NotEmpty(finals);
        Assert.Contains(results, r => !r.IsFinal);
        Assert.All(results, r => Assert.Equal(0u, r.Channel));
        var summary = responses[^1].Summary;
        Assert.NotNull(summary);
        Assert.Equal(EndReason.Completed, summary.Reason);
        Assert.Equal((ulong)finals.Count, summary.FinalResults);
        Assert.Equal((ulong)results.Count, summary.Results);
        Assert.InRange(summary.AudioDurationMs, 10_900, 11_100);
        Assert.Equal([0u], summary.AnalysedChannels);
        string session = responses[0].SessionId;
        Assert.All(responses, r => Assert.Equal(session, r.SessionId));

        // The watcher kept up: it holds the session's every final result, then its summary.
        var seen = new List<WatchResponse>();
        while (!seen.Any(w => w.Event.Summary is not null && w.SessionId == session))
            seen.Add(await watched.Reader.ReadAsync(stopWatching.Token));
        await stopWatching.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => watch);
        var watchedFinals = seen.Where(w => w.SessionId == session && w.Event.Result is { IsFinal: true }).Select(w => w.Event.Result).ToList();
        Assert.Equal(finals, watchedFinals);
        Assert.All(seen, w => Assert.Equal(0ul, w.DroppedEvents));
        Console.WriteLine($"stream: {results.Count} results ({finals.Count} final), latency p50 {summary.LatencyP50Ms} ms, p95 {summary.LatencyP95Ms} ms");
    }

    [Fact]
    public async Task Audio_at_48_kHz_is_resampled_and_gives_the_same_utterances_as_16_kHz()
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime);
        using var client = server.Client();
        var at48 = WavFusion.Core.Audio.AudioFile.DecodeWithFfmpeg(Path.Combine(Infrastructure.RepoPaths.Samples, "jfk.flac"), 48_000).Samples;
        var (r16, e16) = await ServerAudio.RunAsync(client, ServerAudio.Config(), ServerAudio.Chunks(ServerAudio.Linear16(ServerAudio.Jfk), ChunkBytes));
        var (r48, e48) = await ServerAudio.RunAsync(client, ServerAudio.Config(sampleRate: 48_000), ServerAudio.Chunks(ServerAudio.Linear16(at48), 3 * ChunkBytes));
        Assert.Null(e16);
        Assert.Null(e48);
        var ends16 = r16.Where(r => r.SpeechEvent is not null).Select(r => r.SpeechEvent.OffsetMs).ToList();
        var ends48 = r48.Where(r => r.SpeechEvent is not null).Select(r => r.SpeechEvent.OffsetMs).ToList();
        Assert.Equal(ends16.Count, ends48.Count);
        // The VAD decides per 32 ms frame; resampling may move a boundary by a frame.
        Assert.All(ends16.Zip(ends48), p => Assert.InRange(Math.Abs(p.First - p.Second), 0, 64));
        Assert.Equal(r16.Count(r => r.Result is { IsFinal: true }), r48.Count(r => r.Result is { IsFinal: true }));
    }

    [Fact]
    public async Task An_agent_channel_is_never_analysed_and_results_carry_the_customer_channel()
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime);
        using var client = server.Client();
        // The same speech on both channels: only the role decides which is recognised.
        var stereo = ServerAudio.Linear16(ServerAudio.Jfk, ServerAudio.Jfk);
        var (responses, error) = await ServerAudio.RunAsync(client, ServerAudio.Config(channels: 2, roles: [Role.Agent, Role.Customer]),
            ServerAudio.Chunks(stereo, 2 * ChunkBytes));
        Assert.Null(error);
        var results = responses.Where(r => r.Result is not null).Select(r => r.Result).ToList();
        Assert.NotEmpty(results);
        Assert.All(results, r => Assert.Equal(1u, r.Channel));
        Assert.All(responses.Where(r => r.SpeechEvent is not null), r => Assert.Equal(1u, r.SpeechEvent.Channel));
        Assert.Equal([1u], responses[^1].Summary.AnalysedChannels);

        // Agent alone: nothing is analysed, and the stream still completes with its summary.
        var (agentOnly, agentError) = await ServerAudio.RunAsync(client, ServerAudio.Config(roles: [Role.Agent]),
            ServerAudio.Chunks(ServerAudio.Linear16(ServerAudio.Jfk), ChunkBytes));
        Assert.Null(agentError);
        var only = Assert.Single(agentOnly);
        Assert.Equal(EndReason.Completed, only.Summary.Reason);
        Assert.Empty(only.Summary.AnalysedChannels);
        Assert.Equal(0ul, only.Summary.Results);
    }

    [Fact]
    public async Task A_role_policy_that_analyses_other_roles_recognises_them_but_never_an_agent()
    {
        var options = InMemoryServer.FastOptions() with
        {
            RolePolicy = new WavFusion.Server.RolePolicyOptions { AnalysedRoles = [Role.Customer, Role.Other] },
        };
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime, options);
        using var client = server.Client();
        var three = ServerAudio.Linear16(ServerAudio.Jfk, ServerAudio.Jfk, ServerAudio.Jfk);
        var (responses, error) = await ServerAudio.RunAsync(client, ServerAudio.Config(channels: 3, roles: [Role.Other, Role.Agent, Role.Customer]),
            ServerAudio.Chunks(three, 3 * ChunkBytes));
        Assert.Null(error);
        var channels = responses.Where(r => r.Result is not null).Select(r => r.Result.Channel).ToHashSet();
        Assert.Equal([0u, 2u], channels.Order());
        Assert.Equal([0u, 2u], responses[^1].Summary.AnalysedChannels);
    }

    [Fact]
    public async Task Client_transcripts_join_the_windows_of_their_channel()
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime);
        using var client = server.Client();
        var config = ServerAudio.Config();
        config.ClientTranscripts = true;
        var audio = ServerAudio.Linear16(ServerAudio.Jfk);
        var requests = new List<StreamingRecognizeRequest>
        {
            new() { Transcript = new TranscriptText { Text = "and so my fellow americans", StartOffsetMs = 300, EndOffsetMs = 2300, IsFinal = true } },
        };
        for (int i = 0; i < audio.Length; i += ChunkBytes)
            requests.Add(new() { Audio = new Api.V1.AudioChunk { Data = ByteString.CopyFrom(audio, i, Math.Min(ChunkBytes, audio.Length - i)) } });
        var (responses, error) = await ServerAudio.RunAsync(client, config, ServerAudio.Of([.. requests]));
        Assert.Null(error);
        var finals = responses.Where(r => r.Result is { IsFinal: true }).Select(r => r.Result).ToList();
        var first = finals.First();
        Assert.True(first.ModalitiesPresent.Text, "the first utterance's final result has no text");
        Assert.Contains("fellow americans", first.Transcript, StringComparison.Ordinal);
        Assert.Contains(finals.Skip(1), r => !r.ModalitiesPresent.Text);
        Assert.Equal(1ul, responses[^1].Summary.TranscriptsReceived);
    }

    [SkippableFact]
    public async Task Jpeg_frames_streamed_with_the_audio_join_the_windows_as_faces()
    {
        Skip.IfNot(fixture.Runtime.AnalysesFaces, "no Haar cascade (Debian's opencv-data): the runtime analyses no faces");
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime);
        using var client = server.Client();
        string clip = Path.Combine(Infrastructure.RepoPaths.Samples, "demo-clip.mp4");
        var feed = new MediaFeedOptions { Speed = 0, Video = clip, VideoFps = 2 };
        var (responses, error) = await ServerAudio.RunAsync(client, feed.Config(), MediaFeed.FromFile(clip, feed));
        Assert.Null(error);
        var summary = responses[^1].Summary;
        Assert.InRange(summary.FramesReceived, 52ul, 56ul);
        Assert.Equal(0ul, summary.FramesUndecodable);
        var finals = responses.Where(r => r.Result is { IsFinal: true }).Select(r => r.Result).ToList();
        Assert.NotEmpty(finals);
        // The clip shows a face throughout: every utterance's final result is audio + visual.
        Assert.All(finals, r => Assert.True(r.ModalitiesPresent.Visual, $"final result {r.StartOffsetMs}..{r.EndOffsetMs} ms has no faces"));
        Assert.All(finals, r => Assert.NotEmpty(r.PerModality));
    }

    [Fact]
    public async Task Recognize_scores_a_whole_clip_like_a_stream()
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime);
        using var client = server.Client();
        var response = await client.Recognizer.RecognizeAsync(new RecognizeRequest
        {
            Config = ServerAudio.Config(),
            Audio = ByteString.CopyFrom(ServerAudio.Linear16(ServerAudio.Jfk)),
        }, client.Call());
        var finals = response.Events.Where(e => e.Result is { IsFinal: true }).ToList();
        Assert.NotEmpty(finals);
        Assert.DoesNotContain(response.Events, e => e.Result is { IsFinal: false });
        Assert.All(response.Events, e => Assert.Equal(response.SessionId, e.SessionId));
        Assert.Equal(EndReason.Completed, response.Summary.Reason);
        Assert.Equal((ulong)finals.Count, response.Summary.FinalResults);

        var (streamed, _) = await ServerAudio.RunAsync(client, ServerAudio.Config(), ServerAudio.Chunks(ServerAudio.Linear16(ServerAudio.Jfk), ChunkBytes));
        Assert.Equal(streamed.Count(r => r.Result is { IsFinal: true }), finals.Count);
    }

    [Fact]
    public async Task Audio_before_the_config_is_invalid()
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime);
        using var client = server.Client();
        var error = await RawAsync(client, new StreamingRecognizeRequest { Audio = new Api.V1.AudioChunk { Data = ByteString.CopyFrom(new byte[320]) } });
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("first message must carry the config", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_config_is_invalid_and_the_stream_still_ends_with_its_summary()
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime);
        using var client = server.Client();
        var (responses, error) = await ServerAudio.RunAsync(client, ServerAudio.Config(), ServerAudio.Of(
            new StreamingRecognizeRequest { Audio = new Api.V1.AudioChunk { Data = ByteString.CopyFrom(new byte[ChunkBytes]) } },
            new StreamingRecognizeRequest { Config = ServerAudio.Config() }));
        Assert.NotNull(error);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("second config", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(EndReason.InvalidInput, responses[^1].Summary.Reason);
        Assert.Equal(100, responses[^1].Summary.AudioDurationMs);
    }

    [Theory]
    [InlineData(AudioFormat.Types.Encoding.Unspecified, 16_000u, 1u, "encoding")]
    [InlineData((AudioFormat.Types.Encoding)7, 16_000u, 1u, "encoding")]
    [InlineData(AudioFormat.Types.Encoding.Linear16, 0u, 1u, "sample_rate_hz 0")]
    [InlineData(AudioFormat.Types.Encoding.Linear16, 16_000u, 9u, "channel_count 9")]
    [InlineData(AudioFormat.Types.Encoding.Linear16, 16_000u, 2u, "channel 0 of 2 has no role")]
    public async Task A_config_the_server_cannot_honour_is_invalid_naming_the_field(AudioFormat.Types.Encoding encoding, uint rate, uint channels, string expected)
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime);
        using var client = server.Client();
        var config = new StreamConfig { AudioFormat = new AudioFormat { Encoding = encoding, SampleRateHz = rate, ChannelCount = channels } };
        var (responses, error) = await ServerAudio.RunAsync(client, config, ServerAudio.Of());
        Assert.Empty(responses);
        Assert.NotNull(error);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains(expected, error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audio_that_is_not_whole_frames_or_goes_back_in_time_is_invalid()
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime);
        using var client = server.Client();
        var (_, ragged) = await ServerAudio.RunAsync(client, ServerAudio.Config(channels: 2, roles: [Role.Customer, Role.Agent]), ServerAudio.Of(
            new StreamingRecognizeRequest { Audio = new Api.V1.AudioChunk { Data = ByteString.CopyFrom(new byte[6]) } }));
        Assert.Equal(StatusCode.InvalidArgument, ragged!.StatusCode);
        Assert.Contains("not whole frames of 4 bytes", ragged.Status.Detail, StringComparison.Ordinal);

        var (_, back) = await ServerAudio.RunAsync(client, ServerAudio.Config(), ServerAudio.Of(
            new StreamingRecognizeRequest { Audio = new Api.V1.AudioChunk { Data = ByteString.CopyFrom(new byte[ChunkBytes]), StartOffsetMs = 1000 } },
            new StreamingRecognizeRequest { Audio = new Api.V1.AudioChunk { Data = ByteString.CopyFrom(new byte[ChunkBytes]), StartOffsetMs = 500 } }));
        Assert.Equal(StatusCode.InvalidArgument, back!.StatusCode);
        Assert.Contains("goes back in time", back.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_gap_in_the_offsets_is_silence_so_stream_time_stays_the_callers()
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime);
        using var client = server.Client();
        var speech = ServerAudio.Linear16(ServerAudio.Jfk[..(3 * 16_000)]);
        var (responses, error) = await ServerAudio.RunAsync(client, ServerAudio.Config(), ServerAudio.Of(
            new StreamingRecognizeRequest { Audio = new Api.V1.AudioChunk { Data = ByteString.CopyFrom(speech), StartOffsetMs = 5000 } }));
        Assert.Null(error);
        Assert.Equal(8000, responses[^1].Summary.AudioDurationMs);
        var begin = responses.First(r => r.SpeechEvent is not null).SpeechEvent;
        Assert.InRange(begin.OffsetMs, 5000, 5700);
    }

    [Fact]
    public async Task Frames_without_send_video_and_text_without_client_transcripts_are_invalid()
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime);
        using var client = server.Client();
        var (_, frame) = await ServerAudio.RunAsync(client, ServerAudio.Config(), ServerAudio.Of(
            new StreamingRecognizeRequest { Frame = new Api.V1.VideoFrame { Jpeg = ByteString.CopyFrom(new byte[10]) } }));
        Assert.Equal(StatusCode.InvalidArgument, frame!.StatusCode);
        Assert.Contains("send_video", frame.Status.Detail, StringComparison.Ordinal);
        var (_, text) = await ServerAudio.RunAsync(client, ServerAudio.Config(), ServerAudio.Of(
            new StreamingRecognizeRequest { Transcript = new TranscriptText { Text = "hi", StartOffsetMs = 0, EndOffsetMs = 100 } }));
        Assert.Equal(StatusCode.InvalidArgument, text!.StatusCode);
        Assert.Contains("client_transcripts", text.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Undecodable_and_oversized_frames_are_skipped_and_counted_without_ending_the_call()
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime, InMemoryServer.FastOptions(l => l with { MaxFramePixels = 100 * 100 }));
        using var client = server.Client();
        var config = ServerAudio.Config();
        config.SendVideo = true;
        // A JPEG header claiming 20000 x 20000 pixels, and bytes that are no JPEG at all.
        byte[] huge = [0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x4E, 0x20, 0x4E, 0x20, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xD9];
        var (responses, error) = await ServerAudio.RunAsync(client, config, ServerAudio.Of(
            new StreamingRecognizeRequest { Frame = new Api.V1.VideoFrame { Jpeg = ByteString.CopyFrom(huge), OffsetMs = 0 } },
            new StreamingRecognizeRequest { Frame = new Api.V1.VideoFrame { Jpeg = ByteString.CopyFrom(new byte[64]), OffsetMs = 100 } },
            new StreamingRecognizeRequest { Audio = new Api.V1.AudioChunk { Data = ByteString.CopyFrom(ServerAudio.Linear16(ServerAudio.Jfk[..16_000])) } }));
        Assert.Null(error);
        var summary = responses[^1].Summary;
        Assert.Equal(EndReason.Completed, summary.Reason);
        Assert.Equal(2ul, summary.FramesReceived);
        if (fixture.Runtime.AnalysesFaces) Assert.Equal(2ul, summary.FramesUndecodable);
    }

    /// <summary>Writes <paramref name="requests"/> as they are (no config first) and returns the error the call ends with.</summary>
    private static async Task<RpcException> RawAsync(WavFusionClient client, params StreamingRecognizeRequest[] requests)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        using var call = client.Recognizer.StreamingRecognize(client.Call(timeout.Token));
        foreach (var r in requests) await call.RequestStream.WriteAsync(r);
        await call.RequestStream.CompleteAsync();
        return await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in call.ResponseStream.ReadAllAsync(timeout.Token)) { }
        });
    }

    internal static async Task WaitUntilAsync(Func<bool> condition, int timeoutSeconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("the condition did not hold in time");
            await Task.Delay(20);
        }
    }
}
