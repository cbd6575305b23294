using System.Runtime.CompilerServices;
using Grpc.Core;
using Grpc.Net.Client;
using WavFusion.Api.V1;

namespace WavFusion.Client;

/// <summary>
/// A connection to a WavFusion server: one HTTP/2 channel, the API key sent as <c>x-api-key</c> on every call, and the
/// two services. <see cref="StreamAsync"/> writes the media in a background task and reads results in the foreground,
/// as a bidirectional call wants; a failed call surfaces as the server's <see cref="RpcException"/>.
/// </summary>
public sealed class WavFusionClient : IDisposable
{
    public const string ApiKeyHeader = "x-api-key";

    private readonly GrpcChannel _channel;
    private readonly string? _apiKey;

    /// <param name="server">http://host:port (plaintext HTTP/2) or https://host:port.</param>
    /// <param name="handler">A handler to send through instead of a socket (an in-memory test server).</param>
    public WavFusionClient(Uri server, string? apiKey, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        _apiKey = apiKey;
        _channel = GrpcChannel.ForAddress(server, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = handler is null,
            MaxReceiveMessageSize = null,
            MaxSendMessageSize = null,
        });
        Recognizer = new EmotionRecognizer.EmotionRecognizerClient(_channel);
        Monitor = new SessionMonitor.SessionMonitorClient(_channel);
    }

    public GrpcChannel Channel => _channel;

    public EmotionRecognizer.EmotionRecognizerClient Recognizer { get; }

    public SessionMonitor.SessionMonitorClient Monitor { get; }

    /// <summary>The call options every call of this client uses: its key, and <paramref name="cancellationToken"/>.</summary>
    public CallOptions Call(CancellationToken cancellationToken = default)
    {
        var headers = new Metadata();
        if (_apiKey is not null) headers.Add(ApiKeyHeader, _apiKey);
        return new CallOptions(headers, cancellationToken: cancellationToken);
    }

    /// <summary>
    /// Streams <paramref name="config"/> then <paramref name="media"/>, and yields the server's responses (results,
    /// speech events, and the session summary last) until the server ends the call.
    /// </summary>
    public async IAsyncEnumerable<StreamingRecognizeResponse> StreamAsync(StreamConfig config, IAsyncEnumerable<StreamingRecognizeRequest> media,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(media);
        using var call = Recognizer.StreamingRecognize(Call(cancellationToken));
        using var stopWriting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var writer = Task.Run(() => WriteAsync(call.RequestStream, config, media, stopWriting.Token), CancellationToken.None);
        try
        {
            await foreach (var response in call.ResponseStream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                yield return response;
        }
        finally
        {
            // The server has ended the call (or the caller left): the writer has nothing more to do.
            await stopWriting.CancelAsync().ConfigureAwait(false);
            try { await writer.ConfigureAwait(false); }
            catch (Exception e) when (e is OperationCanceledException or RpcException or InvalidOperationException or IOException) { }
        }
    }

    private static async Task WriteAsync(IClientStreamWriter<StreamingRecognizeRequest> requests, StreamConfig config,
        IAsyncEnumerable<StreamingRecognizeRequest> media, CancellationToken cancellationToken)
    {
        await requests.WriteAsync(new StreamingRecognizeRequest { Config = config }, cancellationToken).ConfigureAwait(false);
        await foreach (var request in media.WithCancellation(cancellationToken).ConfigureAwait(false))
            await requests.WriteAsync(request, cancellationToken).ConfigureAwait(false);
        await requests.CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>Events of one session (or all, for a null or empty id) until the watch ends or is cancelled.</summary>
    public IAsyncEnumerable<WatchResponse> WatchAsync(string? sessionId, CancellationToken cancellationToken = default) =>
        WatchAsync(sessionId, TimeSpan.Zero, cancellationToken);

    /// <summary>
    /// The same, first replaying the retained events of the last <paramref name="replay"/> (servers on a bus with
    /// JetStream retention; others replay nothing); replayed events have <see cref="WatchResponse.Replayed"/> set.
    /// </summary>
    public async IAsyncEnumerable<WatchResponse> WatchAsync(string? sessionId, TimeSpan replay, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var request = new WatchRequest { SessionId = sessionId ?? "", ReplaySeconds = (uint)Math.Clamp(Math.Ceiling(replay.TotalSeconds), 0, uint.MaxValue) };
        using var call = Monitor.Watch(request, Call(cancellationToken));
        await foreach (var response in call.ResponseStream.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            yield return response;
    }

    public async Task<IReadOnlyList<SessionInfo>> ListSessionsAsync(CancellationToken cancellationToken = default) =>
        (await Monitor.ListSessionsAsync(new ListSessionsRequest(), Call(cancellationToken)).ConfigureAwait(false)).Sessions;

    /// <summary>grpc.health.v1 Check of <paramref name="service"/> ("" for the whole server); needs no key.</summary>
    public async Task<Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus> HealthAsync(string service = "", CancellationToken cancellationToken = default)
    {
        var health = new Grpc.Health.V1.Health.HealthClient(_channel);
        var response = await health.CheckAsync(new Grpc.Health.V1.HealthCheckRequest { Service = service }, cancellationToken: cancellationToken).ConfigureAwait(false);
        return response.Status;
    }

    public void Dispose() => _channel.Dispose();
}
