using System.Buffers.Binary;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using WavFusion.Api.V1;
using WavFusion.Client;
using WavFusion.Core.Audio;
using WavFusion.Live.Pipeline;
using WavFusion.Server;
using WavFusion.Server.Hosting;
using WavFusion.Server.Security;
using WavFusion.Server.Sessions;
using WavFusion.Tests.Infrastructure;
using Role = WavFusion.Api.V1.ChannelRole.Types.Role;

namespace WavFusion.Tests.Server;

/// <summary>One live runtime (the demo model, Silero VAD, faces) for every in-memory server test, loaded once.</summary>
public sealed class ServerRuntimeFixture : IAsyncLifetime
{
    public LiveRuntime Runtime { get; private set; } = null!;

    public Task InitializeAsync()
    {
        var options = LiveOptions.Load(Path.Combine(RepoPaths.Root, "config", "live.json"));
        var models = new LiveModels(Path.Combine(RepoPaths.Root, "models", "wavfusion-demo"), Path.GetFullPath(options.Vad.Model, RepoPaths.Root));
        Runtime = LiveRuntime.Load(options, models, withFaces: File.Exists(options.Faces.HaarCascade));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await Runtime.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ServerRuntimeFixture>
{
    public const string Name = "server";
}

/// <summary>The real server application on ASP.NET Core's in-memory test server, with clients over its handler.</summary>
public sealed class InMemoryServer : IAsyncDisposable
{
    public const string PushKey = "push-key-0123456789";
    public const string WatchKey = "watch-key-0123456789";
    public const string BothKey = "both-key-0123456789";

    private InMemoryServer(WebApplication app) => App = app;

    public WebApplication App { get; }

    public ServerContext Context => App.Services.GetRequiredService<ServerContext>();

    public InProcessSessionHub Hub => (InProcessSessionHub)Context.Hub;

    /// <summary>Limits loose enough for tests to send media as fast as they like; each test tightens what it checks.</summary>
    public static ServerOptions FastOptions(Func<LimitOptions, LimitOptions>? limits = null) => new()
    {
        Limits = (limits ?? (l => l))(new LimitOptions { MaxRealtimeSpeed = 10_000, RealtimeBurstMs = 3_600_000 }),
        Shutdown = new ShutdownOptions { GraceSeconds = 1 },
    };

    /// <summary>Keys with push, watch and both rights (the file is written and read as `serve` would).</summary>
    public static ApiKeySet Keys()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("keys.json"), $$"""
            {"keys":[
              {"name":"pusher","key":"{{PushKey}}","rights":["push"]},
              {"name":"watcher","key":"{{WatchKey}}","rights":["watch"]},
              {"name":"both","key":"{{BothKey}}","rights":["push","watch"]}
            ]}
            """);
        return ApiKeySet.Load(dir.File("keys.json"));
    }

    public static async Task<InMemoryServer> StartAsync(LiveRuntime runtime, ServerOptions? options = null, ApiKeySet? keys = null)
    {
        var app = ServerHost.Build(new ServerSetup(runtime, options ?? FastOptions(), keys, ListenAddress.Parse("127.0.0.1:0")),
            builder =>
            {
                builder.WebHost.UseTestServer();
                // The tests read statuses and summaries; the server's log lines would only bury their output.
                builder.Logging.ClearProviders();
            });
        await app.StartAsync();
        return new InMemoryServer(app);
    }

    public WavFusionClient Client(string? apiKey = null) => new(new Uri("http://localhost"), apiKey, App.GetTestServer().CreateHandler());

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await App.StopAsync(stop.Token);
        await App.DisposeAsync();
    }
}

/// <summary>Audio and streams for the server tests.</summary>
public static class ServerAudio
{
    private static readonly Lazy<float[]> JfkSamples = new(() => AudioFile.Load(Path.Combine(RepoPaths.Samples, "jfk.flac")).Samples);

    /// <summary>samples/jfk.flac at 16 kHz mono (11 s of speech, four utterances).</summary>
    public static float[] Jfk => JfkSamples.Value;

    public static StreamConfig Config(int sampleRate = 16_000, int channels = 1, AudioFormat.Types.Encoding encoding = AudioFormat.Types.Encoding.Linear16,
        params Role[] roles)
    {
        var config = new StreamConfig
        {
            SessionLabel = "test",
            AudioFormat = new AudioFormat { Encoding = encoding, SampleRateHz = (uint)sampleRate, ChannelCount = (uint)channels },
        };
        config.Channels.AddRange(roles.Select((r, c) => new ChannelRole { Channel = (uint)c, Role = r }));
        return config;
    }

    /// <summary>Interleaves <paramref name="channels"/> as LINEAR16.</summary>
    public static byte[] Linear16(params float[][] channels)
    {
        int n = channels.Length, frames = channels[0].Length;
        var bytes = new byte[frames * n * 2];
        for (int f = 0; f < frames; f++)
            for (int c = 0; c < n; c++)
                BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan((f * n + c) * 2), (short)Math.Clamp(Math.Round(channels[c][f] * 32767.0), short.MinValue, short.MaxValue));
        return bytes;
    }

    public static byte[] Float32(float[] samples)
    {
        var bytes = new byte[samples.Length * 4];
        for (int i = 0; i < samples.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), samples[i]);
        return bytes;
    }

    /// <summary><paramref name="bytes"/> as audio messages of <paramref name="chunkBytes"/> each.</summary>
    public static async IAsyncEnumerable<StreamingRecognizeRequest> Chunks(byte[] bytes, int chunkBytes)
    {
        for (int i = 0; i < bytes.Length; i += chunkBytes)
        {
            yield return new StreamingRecognizeRequest { Audio = new Api.V1.AudioChunk { Data = ByteString.CopyFrom(bytes, i, Math.Min(chunkBytes, bytes.Length - i)) } };
            await Task.Yield();
        }
    }

    public static async IAsyncEnumerable<StreamingRecognizeRequest> Of(params StreamingRecognizeRequest[] requests)
    {
        foreach (var r in requests)
        {
            yield return r;
            await Task.Yield();
        }
    }

    /// <summary>Everything a stream returned, and the error it ended with (null when OK).</summary>
    public static async Task<(List<StreamingRecognizeResponse> Responses, RpcException? Error)> RunAsync(WavFusionClient client, StreamConfig config,
        IAsyncEnumerable<StreamingRecognizeRequest> media, CancellationToken cancellationToken = default)
    {
        var responses = new List<StreamingRecognizeResponse>();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        try
        {
            await foreach (var r in client.StreamAsync(config, media, timeout.Token)) responses.Add(r);
            return (responses, null);
        }
        catch (RpcException e)
        {
            return (responses, e);
        }
    }
}
