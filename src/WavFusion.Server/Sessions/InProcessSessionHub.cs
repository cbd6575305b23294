using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Grpc.Core;
using WavFusion.Api.V1;

namespace WavFusion.Server.Sessions;

/// <summary>
/// Sessions and watchers of this process. Each watcher has its own bounded queue that drops its oldest event when
/// full (counted), so publishing is a non-blocking write per watcher: a slow or vanished watcher costs the producer
/// nothing and holds at most <c>queueCapacity</c> events. The NATS hub uses one as its local fan-out, for the sessions
/// of its own replica and for mirrors of the other replicas' sessions.
/// </summary>
public sealed class InProcessSessionHub(ServerOptions options) : ISessionHub
{
    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private readonly WatcherList _allWatchers = new();
    private readonly Lock _gate = new();
    private bool _closed;

    public ValueTask<ISessionPublisher> OpenAsync(SessionInfo info, CancellationToken cancellationToken) => ValueTask.FromResult<ISessionPublisher>(Open(info));

    /// <summary>Registers a session and returns its concrete handle (a mirror of another replica's session publishes with that replica's sequence numbers).</summary>
    internal Session Open(SessionInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        var session = new Session(this, info.Clone());
        if (!_sessions.TryAdd(info.SessionId, session)) throw new InvalidOperationException($"session '{info.SessionId}' is already open");
        return session;
    }

    /// <summary>Sessions registered now (mirrors included).</summary>
    internal int Count => _sessions.Count;

    /// <summary>Whether anyone would receive an event of <paramref name="sessionId"/> now (so a mirror need not decode it).</summary>
    internal bool IsWatched(string sessionId) => _allWatchers.Count > 0 || WatchersOf(sessionId) > 0;

    public ValueTask<IReadOnlyList<SessionInfo>> ListAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<SessionInfo>>(
            _sessions.Values.Select(s => s.Info).OrderBy(i => i.StartedUnixMs).ThenBy(i => i.SessionId, StringComparer.Ordinal).ToList());

    /// <summary>Nothing is retained in process: <paramref name="replay"/> replays nothing.</summary>
    public ValueTask<IWatchSubscription> WatchAsync(string? sessionId, TimeSpan replay, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IWatchSubscription>(Watch(sessionId));

    internal Watcher Watch(string? sessionId)
    {
        var limits = options.Limits;
        lock (_gate)
        {
            if (_closed) throw new RpcException(new Status(StatusCode.Unavailable, "the server is shutting down"));
            WatcherList list;
            Session? session = null;
            int limit;
            string what;
            if (string.IsNullOrEmpty(sessionId))
            {
                list = _allWatchers;
                limit = limits.MaxAllSessionWatchers;
                what = "all sessions";
            }
            else
            {
                if (!_sessions.TryGetValue(sessionId, out session) || session.Ended)
                    throw new RpcException(new Status(StatusCode.NotFound, $"session '{sessionId}' is not open here"));
                list = session.Watchers;
                limit = limits.MaxWatchersPerSession;
                what = $"session '{sessionId}'";
            }
            var watcher = new Watcher(list, options.Watch.QueueCapacity);
            if (!list.TryAdd(watcher, limit))
                throw new RpcException(new Status(StatusCode.ResourceExhausted,
                    $"{what} already has {limit} watchers (limits.{(session is null ? "max_all_session_watchers" : "max_watchers_per_session")})"));
            // A session that ended while this watcher joined has already completed its list; end this one too.
            if (session is { Ended: true }) watcher.Complete();
            return watcher;
        }
    }

    /// <summary>Watchers of all sessions now (tests wait for a watcher to be subscribed before they stream).</summary>
    internal int AllSessionWatchers => _allWatchers.Count;

    /// <summary>Watchers of one session now (0 when it is not open).</summary>
    internal int WatchersOf(string sessionId) => _sessions.TryGetValue(sessionId, out var session) ? session.Watchers.Count : 0;

    public void CloseWatchers()
    {
        lock (_gate) _closed = true;
        _allWatchers.CompleteAll();
        foreach (var session in _sessions.Values) session.Watchers.CompleteAll();
    }

    public IReadOnlyList<HubMetric> Metrics() =>
    [
        new("wavfusion_active_sessions", "Sessions (analysed channels of open streams) on this server.", "gauge", _sessions.Count),
        new("wavfusion_watchers", "Watch calls open on this server.", "gauge", _allWatchers.Count + _sessions.Values.Sum(s => s.Watchers.Count)),
    ];

    public ValueTask DisposeAsync()
    {
        CloseWatchers();
        return ValueTask.CompletedTask;
    }

    private void Remove(Session session) => _sessions.TryRemove(new KeyValuePair<string, Session>(session.Info.SessionId, session));

    /// <summary>A registered session: its watchers, and the number of the next event.</summary>
    internal sealed class Session(InProcessSessionHub hub, SessionInfo info) : ISessionPublisher
    {
        private long _sequence;

        public SessionInfo Info { get; } = info;

        public WatcherList Watchers { get; } = new();

        private volatile bool _ended;

        /// <summary>Its summary was published or it was disposed: watchers joining now get nothing more.</summary>
        public bool Ended => _ended;

        public string SessionId => Info.SessionId;

        public long Dropped => 0;

        public void Publish(StreamingRecognizeResponse e) => PublishNumbered(e);

        /// <summary>Publishes <paramref name="e"/> as this session's next event and returns its number (from 1).</summary>
        public ulong PublishNumbered(StreamingRecognizeResponse e)
        {
            ulong sequence = (ulong)Interlocked.Increment(ref _sequence);
            Publish(e, sequence);
            return sequence;
        }

        /// <summary>Publishes <paramref name="e"/> with the number its producer gave it (a mirror of another replica's session).</summary>
        public void Publish(StreamingRecognizeResponse e, ulong sequence)
        {
            ArgumentNullException.ThrowIfNull(e);
            var delivered = new Delivered(e, sequence);
            Watchers.Offer(delivered);
            hub._allWatchers.Offer(delivered);
            if (e.Summary is null) return;
            _ended = true;
            Watchers.CompleteAll();
        }

        public ValueTask DisposeAsync()
        {
            _ended = true;
            hub.Remove(this);
            Watchers.CompleteAll();
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>An event and its number within its session.</summary>
    internal readonly record struct Delivered(StreamingRecognizeResponse Event, ulong Sequence);

    /// <summary>A copy-on-write list: publishing reads a snapshot without a lock; subscribing and leaving are rare.</summary>
    internal sealed class WatcherList
    {
        private Watcher[] _watchers = [];
        private readonly Lock _gate = new();

        public bool TryAdd(Watcher watcher, int limit)
        {
            lock (_gate)
            {
                if (_watchers.Length >= limit) return false;
                _watchers = [.. _watchers, watcher];
                return true;
            }
        }

        public void Remove(Watcher watcher)
        {
            lock (_gate) _watchers = _watchers.Where(w => !ReferenceEquals(w, watcher)).ToArray();
        }

        public int Count => Volatile.Read(ref _watchers).Length;

        public void Offer(Delivered e)
        {
            foreach (var watcher in Volatile.Read(ref _watchers)) watcher.Offer(e);
        }

        public void CompleteAll()
        {
            foreach (var watcher in Volatile.Read(ref _watchers)) watcher.Complete();
        }
    }

    internal sealed class Watcher : IWatchSubscription
    {
        private readonly WatcherList _list;
        private readonly Channel<Delivered> _queue;
        private long _dropped;

        public Watcher(WatcherList list, int capacity)
        {
            _list = list;
            _queue = Channel.CreateBounded<Delivered>(
                new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
                _ => Interlocked.Increment(ref _dropped));
        }

        public long Dropped => Interlocked.Read(ref _dropped);

        public void Offer(Delivered e) => _queue.Writer.TryWrite(e);

        public void Complete() => _queue.Writer.TryComplete();

        public async IAsyncEnumerable<WatchResponse> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await foreach (var d in _queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                yield return new WatchResponse { SessionId = d.Event.SessionId, Event = d.Event, DroppedEvents = (ulong)Dropped, Sequence = d.Sequence };
        }

        public ValueTask DisposeAsync()
        {
            _list.Remove(this);
            Complete();
            return ValueTask.CompletedTask;
        }
    }
}
