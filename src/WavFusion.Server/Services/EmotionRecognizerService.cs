using System.Runtime.CompilerServices;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using WavFusion.Api.V1;
using WavFusion.Server.Security;
using WavFusion.Server.Streaming;

namespace WavFusion.Server.Services;

/// <summary>
/// <c>EmotionRecognizer</c>: StreamingRecognize (a live stream; the read loop runs in the background, responses are
/// written here, by one writer) and Recognize (a whole clip in one message, through the same session code).
/// </summary>
public sealed class EmotionRecognizerService(ServerContext server, ILogger<EmotionRecognizerService> log) : EmotionRecognizer.EmotionRecognizerBase
{
    public override async Task StreamingRecognize(IAsyncStreamReader<StreamingRecognizeRequest> requestStream,
        IServerStreamWriter<StreamingRecognizeResponse> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        var token = context.CancellationToken;
        using var slot = server.Streams.Admit(ApiKeyInterceptor.CallerOf(context));
        // A caller that never sends its config holds its slot no longer than any stream may last.
        using (var configWait = CancellationTokenSource.CreateLinkedTokenSource(token))
        {
            configWait.CancelAfter(TimeSpan.FromSeconds(server.Options.Limits.MaxStreamSeconds));
            bool any;
            try
            {
                any = await requestStream.MoveNext(configWait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!token.IsCancellationRequested)
            {
                throw new RpcException(new Status(StatusCode.DeadlineExceeded, "no config within limits.max_stream_seconds"));
            }
            if (!any) throw new RpcException(new Status(StatusCode.InvalidArgument, "the stream ended before its config"));
        }
        var first = requestStream.Current;
        if (first.PayloadCase != StreamingRecognizeRequest.PayloadOneofCase.Config)
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"the first message must carry the config, not {(first.PayloadCase == StreamingRecognizeRequest.PayloadOneofCase.None ? "nothing" : first.PayloadCase.ToString().ToLowerInvariant())}"));
        var plan = StreamPlan.From(first.Config, server.Options.RolePolicy, server.Runtime.Options.Windows);
        var session = new RecognitionSession(server, plan, log);
        log.LogInformation("session {Session} ({Label}) of key {Key}: {Channels} channel(s) at {Rate} Hz, analysing {Analysed}",
            session.SessionId, plan.Label, ApiKeyInterceptor.CallerOf(context).Name, plan.Channels, plan.SampleRate, string.Join(",", plan.AnalysedChannels));
        var status = await session.RunAsync(Rest(requestStream),
            (e, ct) => responseStream.WriteAsync(e, ct), paced: true, token).ConfigureAwait(false);
        if (status.StatusCode is not (StatusCode.OK or StatusCode.Cancelled)) throw new RpcException(status);
    }

    public override async Task<RecognizeResponse> Recognize(RecognizeRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        using var slot = server.Streams.Admit(ApiKeyInterceptor.CallerOf(context));
        if (request.Config is null) throw new RpcException(new Status(StatusCode.InvalidArgument, "config is missing"));
        var plan = StreamPlan.From(request.Config, server.Options.RolePolicy, server.Runtime.Options.Windows);
        var session = new RecognitionSession(server, plan, log);
        var response = new RecognizeResponse { SessionId = session.SessionId };
        var status = await session.RunAsync(ClipRequests.Of(request, plan), (e, _) =>
        {
            if (e.Summary is not null) response.Summary = e.Summary;
            else response.Events.Add(e);
            return Task.CompletedTask;
        }, paced: false, context.CancellationToken).ConfigureAwait(false);
        if (status.StatusCode != StatusCode.OK) throw new RpcException(status);
        return response;
    }

    private static async IAsyncEnumerable<StreamingRecognizeRequest> Rest(IAsyncStreamReader<StreamingRecognizeRequest> requests,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await requests.MoveNext(cancellationToken).ConfigureAwait(false)) yield return requests.Current;
    }
}
