using Grpc.Core;
using WavFusion.Api.V1;

namespace WavFusion.Server.Services;

/// <summary>
/// <c>SessionMonitor</c>: the open sessions and their events, through the session hub only (so it serves every
/// replica's sessions once the hub is a message bus). A watcher's responses are written here, from its own bounded
/// queue: a watcher that reads slowly, or not at all, blocks only this loop, never a session.
/// </summary>
public sealed class SessionMonitorService(ServerContext server) : SessionMonitor.SessionMonitorBase
{
    public override async Task<ListSessionsResponse> ListSessions(ListSessionsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var response = new ListSessionsResponse();
        response.Sessions.AddRange(await server.Hub.ListAsync(context.CancellationToken).ConfigureAwait(false));
        return response;
    }

    public override async Task Watch(WatchRequest request, IServerStreamWriter<WatchResponse> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        var token = context.CancellationToken;
        await using var subscription = await server.Hub.WatchAsync(request.SessionId, TimeSpan.FromSeconds(request.ReplaySeconds), token).ConfigureAwait(false);
        // Headers now tell the watcher it is subscribed: every event published from here on reaches its queue.
        await context.WriteResponseHeadersAsync(new Metadata()).ConfigureAwait(false);
        try
        {
            await foreach (var response in subscription.ReadAllAsync(token).ConfigureAwait(false))
                await responseStream.WriteAsync(response, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // The watcher left; its queue goes with the subscription.
        }
    }
}
