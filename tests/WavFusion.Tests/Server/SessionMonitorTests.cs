using System.Runtime.CompilerServices;
using Google.Protobuf;
using WavFusion.Api.V1;
using WavFusion.Server;
using WavFusion.Server.Sessions;
using EndReason = WavFusion.Api.V1.SessionSummary.Types.EndReason;
using Role = WavFusion.Api.V1.ChannelRole.Types.Role;

namespace WavFusion.Tests.Server;

/// <summary>ListSessions and Watch on the in-memory host, a caller cancelling mid-stream, and the hub's bounded watcher queues.</summary>
[Collection(ServerCollection.Name)]
public sealed class SessionMonitorTests(ServerRuntimeFixture fixture)
{
    [Fact]
    public async Task An_open_stream_is_listed_with_its_label_and_roles_and_a_caller_that_cancels_leaves_at_once()
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime);
        using var client = server.Client();
        var config = ServerAudio.Config(channels: 2, roles: [Role.Customer, Role.Agent]);
        config.SessionLabel = "call 42";
        using var cancel = new CancellationTokenSource();
        var stereo = ServerAudio.Linear16(ServerAudio.Jfk, ServerAudio.Jfk);
        var stream = ServerAudio.RunAsync(client, config, SlowChunks(stereo, 6400, cancel.Token), cancel.Token);
        await StreamingRecognizeTests.WaitUntilAsync(() => server.Context.Streams.Open == 1);

        var info = Assert.Single(await client.ListSessionsAsync());
        Assert.Equal("call 42", info.SessionLabel);
        Assert.Equal([Role.Customer, Role.Agent], info.Channels.Select(c => c.Role));
        Assert.True(info.Modalities.Audio);
        Assert.InRange(info.StartedUnixMs, DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var watch = Task.Run(async () =>
        {
            var all = new List<WatchResponse>();
            await foreach (var w in client.WatchAsync(info.SessionId)) all.Add(w);
            return all;
        });
        await StreamingRecognizeTests.WaitUntilAsync(() => server.Hub.WatchersOf(info.SessionId) == 1);

        await cancel.CancelAsync();
        var (_, error) = await stream;
        Assert.Equal(Grpc.Core.StatusCode.Cancelled, error!.StatusCode);
        var watched = await watch.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(EndReason.Cancelled, watched[^1].Event.Summary.Reason);
        await StreamingRecognizeTests.WaitUntilAsync(() => server.Context.Streams.Open == 0);
        Assert.Empty(await client.ListSessionsAsync());
    }

    [Fact]
    public async Task A_watcher_that_does_not_read_loses_its_oldest_events_counted_and_never_holds_the_producer()
    {
        var options = new ServerOptions { Watch = new WatchOptions { QueueCapacity = 4 } };
        await using var hub = new InProcessSessionHub(options);
        var publisher = await hub.OpenAsync(new SessionInfo { SessionId = "s-1" }, CancellationToken.None);
        await using var slow = await hub.WatchAsync("s-1", TimeSpan.Zero, CancellationToken.None);
        await using var all = await hub.WatchAsync(null, TimeSpan.Zero, CancellationToken.None);
        const int events = 10_000;
        for (int i = 0; i < events; i++)
            publisher.Publish(new StreamingRecognizeResponse { SessionId = "s-1", SpeechEvent = new SpeechEvent { OffsetMs = i } });
        publisher.Publish(new StreamingRecognizeResponse { SessionId = "s-1", Summary = new SessionSummary { Reason = EndReason.Completed } });

        Assert.Equal(events + 1 - 4, slow.Dropped);
        var kept = new List<WatchResponse>();
        await foreach (var w in slow.ReadAllAsync(CancellationToken.None)) kept.Add(w);
        // The newest four are what is left, the summary last, each counting what was lost before it.
        Assert.Equal(4, kept.Count);
        Assert.Equal([events - 3, events - 2, events - 1], kept.Take(3).Select(w => w.Event.SpeechEvent.OffsetMs));
        Assert.NotNull(kept[^1].Event.Summary);
        Assert.All(kept, w => Assert.Equal((ulong)(events + 1 - 4), w.DroppedEvents));
        Assert.Equal(events + 1 - 4, all.Dropped);
        await publisher.DisposeAsync();
        Assert.Empty(await hub.ListAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_session_that_ended_cannot_be_watched_and_closing_the_hub_ends_every_watch()
    {
        await using var hub = new InProcessSessionHub(new ServerOptions());
        var publisher = await hub.OpenAsync(new SessionInfo { SessionId = "s-1", StartedUnixMs = 1 }, CancellationToken.None);
        var second = await hub.OpenAsync(new SessionInfo { SessionId = "s-2", StartedUnixMs = 2 }, CancellationToken.None);
        Assert.Equal(["s-1", "s-2"], (await hub.ListAsync(CancellationToken.None)).Select(s => s.SessionId));
        await publisher.DisposeAsync();
        var gone = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await hub.WatchAsync("s-1", TimeSpan.Zero, CancellationToken.None));
        Assert.Equal(Grpc.Core.StatusCode.NotFound, gone.StatusCode);

        await using var all = await hub.WatchAsync(null, TimeSpan.Zero, CancellationToken.None);
        var reading = Task.Run(async () =>
        {
            int n = 0;
            await foreach (var _ in all.ReadAllAsync(CancellationToken.None)) n++;
            return n;
        });
        second.Publish(new StreamingRecognizeResponse { SessionId = "s-2", SpeechEvent = new SpeechEvent() });
        hub.CloseWatchers();
        Assert.Equal(1, await reading.WaitAsync(TimeSpan.FromSeconds(30)));
        await second.DisposeAsync();
    }

    [Fact]
    public async Task Media_is_stored_only_when_the_retention_policy_says_so_and_old_days_are_swept()
    {
        using var dir = new Infrastructure.TempDir();
        await using (var plain = await InMemoryServer.StartAsync(fixture.Runtime))
        {
            using var client = plain.Client();
            await ServerAudio.RunAsync(client, ServerAudio.Config(), ServerAudio.Chunks(new byte[6400], 3200));
            Assert.Null(plain.Context.Media);
        }

        var options = InMemoryServer.FastOptions() with
        {
            Retention = new RetentionOptions { StoreMedia = true, MediaFolder = dir.Path, MediaDays = 7 },
        };
        Directory.CreateDirectory(Path.Combine(dir.Path, "2000-01-01", "s-old"));
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime, options);
        using var keeper = server.Client();
        var stereo = ServerAudio.Linear16(ServerAudio.Jfk[..8000], ServerAudio.Jfk[..8000]);
        var (responses, error) = await ServerAudio.RunAsync(keeper, ServerAudio.Config(channels: 2, roles: [Role.Customer, Role.Agent]),
            ServerAudio.Chunks(stereo, 3200));
        Assert.Null(error);
        string session = responses[^1].SessionId;
        var stored = Directory.GetFiles(dir.Path, "audio.wav", SearchOption.AllDirectories).Single(f => f.Contains(session, StringComparison.Ordinal));
        var bytes = File.ReadAllBytes(stored);
        Assert.Equal(44 + stereo.Length, bytes.Length);
        Assert.Equal(2, BitConverter.ToInt16(bytes, 22));
        Assert.Equal(16_000, BitConverter.ToInt32(bytes, 24));
        Assert.Equal(stereo, bytes[44..]);
        // The day folder from 2000 is past the 7 days: the sweep at start removed it.
        await StreamingRecognizeTests.WaitUntilAsync(() => !Directory.Exists(Path.Combine(dir.Path, "2000-01-01")));
    }

    /// <summary>Audio in pieces, a little slower than the server takes it, until cancelled.</summary>
    private static async IAsyncEnumerable<StreamingRecognizeRequest> SlowChunks(byte[] bytes, int chunkBytes,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (int i = 0; i < bytes.Length; i += chunkBytes)
        {
            yield return new StreamingRecognizeRequest { Audio = new Api.V1.AudioChunk { Data = ByteString.CopyFrom(bytes, i, Math.Min(chunkBytes, bytes.Length - i)) } };
            await Task.Delay(50, cancellationToken);
        }
        await Task.Delay(Timeout.Infinite, cancellationToken);
    }
}
