using Grpc.Core;
using WavFusion.Api.V1;

namespace WavFusion.Server.Sessions;

/// <summary>
/// The session registry and event fan-out, behind one interface so that where sessions live is one choice: in this
/// process (<see cref="InProcessSessionHub"/>), or on a message bus shared by many replicas (DESIGN.md §8), where a
/// watcher on one replica sees sessions streaming into another. Nothing else in the server may assume one process:
/// services list, watch and publish through this alone.
/// </summary>
public interface ISessionHub : IAsyncDisposable
{
    /// <summary>Registers a session (it appears in <see cref="ListAsync"/>); disposing the handle ends it.</summary>
    ValueTask<ISessionPublisher> OpenAsync(SessionInfo info, CancellationToken cancellationToken);

    /// <summary>The sessions open now, oldest first.</summary>
    ValueTask<IReadOnlyList<SessionInfo>> ListAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Subscribes to one session's events (<paramref name="sessionId"/>), or every session's (null or empty), first
    /// replaying what the hub retains of the last <paramref name="replay"/> (a hub that retains nothing replays nothing).
    /// Throws <see cref="RpcException"/> NOT_FOUND for a session that is not open (and has nothing to replay) and
    /// RESOURCE_EXHAUSTED beyond the watcher limits.
    /// </summary>
    ValueTask<IWatchSubscription> WatchAsync(string? sessionId, TimeSpan replay, CancellationToken cancellationToken);

    /// <summary>Ends every subscription (server shutdown, after the streams have ended): watchers' calls complete.</summary>
    void CloseWatchers();

    /// <summary>The hub's gauges and counters for /metrics (active sessions first).</summary>
    IReadOnlyList<HubMetric> Metrics();
}

/// <summary>One Prometheus sample: <paramref name="Name"/> (with its unit), what it counts, gauge or counter.</summary>
public sealed record HubMetric(string Name, string Help, string Type, double Value);

/// <summary>An open session's side of the hub.</summary>
public interface ISessionPublisher : IAsyncDisposable
{
    string SessionId { get; }

    /// <summary>
    /// Hands an event to the session's watchers and never waits on them: a slow watcher loses its oldest events
    /// (counted), the producer goes on. After a <see cref="SessionSummary"/> the session's single-session watchers end.
    /// </summary>
    void Publish(StreamingRecognizeResponse e);

    /// <summary>
    /// Events of this session the hub could not pass on to other replicas (the bus unreachable or its buffer full),
    /// reported in the session's summary as <c>dropped["bus"]</c>; always 0 in process.
    /// </summary>
    long Dropped { get; }
}

/// <summary>One watcher's bounded queue of events.</summary>
public interface IWatchSubscription : IAsyncDisposable
{
    /// <summary>Events as they come, each with how many this watcher has lost so far; ends when the subscription does.</summary>
    IAsyncEnumerable<WatchResponse> ReadAllAsync(CancellationToken cancellationToken);

    /// <summary>Events this watcher lost because it read too slowly.</summary>
    long Dropped { get; }
}
