using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using JsStreamConfig = NATS.Client.JetStream.Models.StreamConfig;
using WavFusion.Api.V1;
using EndReason = WavFusion.Api.V1.SessionSummary.Types.EndReason;

namespace WavFusion.Server.Sessions.Bus;

/// <summary>
/// The session hub for many replicas (DESIGN.md §8), over NATS. Each replica keeps an <see cref="InProcessSessionHub"/>
/// as its local fan-out: its own sessions publish there directly (so its watchers never depend on the bus) and, through
/// a bounded <see cref="BusOutbox"/>, on the subjects of <see cref="BusSubjects"/>; the other replicas' sessions are
/// mirrored there from what arrives on the bus. So ListSessions and Watch on any replica serve every replica's sessions,
/// with the watcher limits and slow-watcher policy of one process.
///
/// Liveness: each replica heartbeats the list of its open sessions; a replica not heard from for the session TTL has
/// lost its sessions: they leave the list and their watchers get a LOST summary. A bus outage never stalls a producer:
/// what cannot be sent is dropped and counted (the session summary's <c>dropped["bus"]</c>, and /metrics), and the
/// connection comes back by itself. With JetStream on, a stream retains every event for replays and analytics.
/// </summary>
public sealed class NatsSessionHub : ISessionHub
{
    private static readonly NatsRawSerializer<byte[]> Raw = NatsRawSerializer<byte[]>.Default;

    private readonly BusOptions _bus;
    private readonly InProcessSessionHub _fanout;
    private readonly NatsConnection _nats;
    private readonly BusOutbox _outbox;
    private readonly NatsJSContext? _js;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, LocalSession> _local = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Mirror> _mirrors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Replica> _replicas = new(StringComparer.Ordinal);
    private readonly Lock _lifecycle = new();
    private readonly Lock _gate = new();
    private readonly Task _receiving;
    private readonly Task _beating;
    private long _received;
    private long _receiveDropped;
    private long _rejected;
    private long _lost;
    private long _reconnects;
    private long _lastHello;
    private int _disposed;

    public NatsSessionHub(ServerOptions options, ILoggerFactory loggers, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        _bus = options.Bus;
        _time = time ?? TimeProvider.System;
        _log = loggers.CreateLogger<NatsSessionHub>();
        Subjects = new BusSubjects(_bus.SubjectPrefix);
        ReplicaId = _bus.ReplicaId ?? DefaultReplicaId();
        _fanout = new InProcessSessionHub(options);
        _nats = new NatsConnection(ConnectionOptions(_bus, ReplicaId, loggers));
        _nats.ConnectionOpened += OnConnectedAsync;
        _nats.ConnectionDisconnected += (_, _) =>
        {
            Interlocked.Increment(ref _reconnects);
            _log.LogWarning("bus: lost NATS at {Url}; reconnecting", _bus.RedactedUrl);
            return ValueTask.CompletedTask;
        };
        // A replica that reads the bus too slowly loses messages in the client's bounded queue (never grows): counted.
        _nats.MessageDropped += (_, _) =>
        {
            Interlocked.Increment(ref _receiveDropped);
            return ValueTask.CompletedTask;
        };
        _outbox = new BusOutbox(_nats, _bus.BufferMessages, _log);
        _js = _bus.JetStream.Enabled ? new NatsJSContext(_nats) : null;
        _receiving = Task.Run(ReceiveAsync);
        _beating = Task.Run(BeatAsync);
    }

    /// <summary>This replica's name on the bus (in <see cref="SessionInfo.ReplicaId"/> and the subjects).</summary>
    public string ReplicaId { get; }

    public BusSubjects Subjects { get; }

    /// <summary>Whether the connection to NATS is open now.</summary>
    public bool Connected => _nats.ConnectionState == NatsConnectionState.Open;

    /// <summary>Messages dropped on the way to the bus (all sessions, lifecycle messages included).</summary>
    public long Dropped => _outbox.Dropped;

    public long Published => _outbox.Published;

    /// <summary>Waits until the connection is open (tests and start-up logging), at most <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitConnectedAsync(TimeSpan timeout)
    {
        var deadline = _time.GetTimestamp();
        while (!Connected && _time.GetElapsedTime(deadline) < timeout) await Task.Delay(20).ConfigureAwait(false);
        return Connected;
    }

    /// <summary>Another replica's sessions are known here (mirrored) or not.</summary>
    internal int Mirrors
    {
        get { lock (_gate) return _mirrors.Count; }
    }

    /// <summary>Events waiting for the bus.</summary>
    internal int Pending => _outbox.Pending;

    public ValueTask<ISessionPublisher> OpenAsync(SessionInfo info, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(info);
        var mine = info.Clone();
        mine.ReplicaId = ReplicaId;
        // One lock orders started, ended and heartbeats in the outbox: a heartbeat never misses a session whose start it follows.
        lock (_lifecycle)
        {
            var local = new LocalSession(this, _fanout.Open(mine), mine);
            _local[mine.SessionId] = local;
            Send(Subjects.Started(mine.SessionId), mine, null);
            return ValueTask.FromResult<ISessionPublisher>(local);
        }
    }

    public ValueTask<IReadOnlyList<SessionInfo>> ListAsync(CancellationToken cancellationToken) => _fanout.ListAsync(cancellationToken);

    public async ValueTask<IWatchSubscription> WatchAsync(string? sessionId, TimeSpan replay, CancellationToken cancellationToken)
    {
        if (replay <= TimeSpan.Zero || _js is null) return _fanout.Watch(sessionId);
        // Live first, so nothing published during the replay is missed; the replay's numbers then skip what both carry.
        InProcessSessionHub.Watcher? live = null;
        try
        {
            live = _fanout.Watch(sessionId);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            // An ended session may still be retained.
        }
        try
        {
            var replayed = await ReplayAsync(sessionId, replay, cancellationToken).ConfigureAwait(false);
            if (live is null && replayed.Count == 0)
                throw new RpcException(new Status(StatusCode.NotFound, $"session '{sessionId}' is not open and has no retained events"));
            return new ReplayingSubscription(replayed, live);
        }
        catch
        {
            if (live is not null) await live.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public void CloseWatchers() => _fanout.CloseWatchers();

    public IReadOnlyList<HubMetric> Metrics()
    {
        var fanout = _fanout.Metrics();
        return
        [
            new("wavfusion_active_sessions", "Sessions (analysed channels of open streams) on this replica.", "gauge", _local.Count),
            new("wavfusion_cluster_sessions", "Sessions open on every replica this one hears on the bus, its own included.", "gauge", fanout[0].Value),
            fanout[1],
            new("wavfusion_bus_connected", "1 while the connection to NATS is open.", "gauge", Connected ? 1 : 0),
            new("wavfusion_bus_published_total", "Messages published on the bus.", "counter", _outbox.Published),
            new("wavfusion_bus_dropped_total", "Messages meant for the bus dropped (NATS unreachable or the buffer full).", "counter", _outbox.Dropped),
            new("wavfusion_bus_received_total", "Messages received from other replicas.", "counter", Interlocked.Read(ref _received)),
            new("wavfusion_bus_receive_dropped_total", "Messages from other replicas dropped because this one read them too slowly.", "counter", Interlocked.Read(ref _receiveDropped)),
            new("wavfusion_bus_rejected_total", "Messages received with another schema version or that did not decode.", "counter", Interlocked.Read(ref _rejected)),
            new("wavfusion_bus_sessions_lost_total", "Other replicas' sessions given up for lack of heartbeats.", "counter", Interlocked.Read(ref _lost)),
            new("wavfusion_bus_disconnects_total", "Times the connection to NATS was lost.", "counter", Interlocked.Read(ref _reconnects)),
        ];
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _fanout.CloseWatchers();
        // What the last sessions said (their summaries and ends) goes out before the connection closes.
        await _outbox.FlushAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        await _outbox.DisposeAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_receiving, _beating).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _log.LogWarning("bus: the receive loop did not stop within 5 s");
        }
        await _nats.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private static NatsOpts ConnectionOptions(BusOptions bus, string replicaId, ILoggerFactory loggers)
    {
        var tls = bus.Tls;
        return NatsOpts.Default with
        {
            Url = bus.Url,
            Name = "wavfusion-" + replicaId,
            // A replica's own messages never come back to it: it publishes its sessions to its watchers directly.
            Echo = false,
            LoggerFactory = new OneLineLoggerFactory(loggers),
            RetryOnInitialConnect = true,
            MaxReconnectRetry = -1,
            ReconnectWaitMin = TimeSpan.FromSeconds(bus.ReconnectSeconds),
            ReconnectWaitMax = TimeSpan.FromSeconds(Math.Max(bus.ReconnectSeconds, 5)),
            ConnectTimeout = TimeSpan.FromSeconds(5),
            // A publish caught by a disconnection fails after this instead of waiting for the reconnection.
            PublishTimeoutOnDisconnected = true,
            CommandTimeout = TimeSpan.FromSeconds(2),
            SubPendingChannelCapacity = 65_536,
            // A refused credential is retried like an outage (the NATS server's accounts may be fixed while replicas run),
            // never given up on: bus_connected stays 0 and the log says why meanwhile.
            IgnoreAuthErrorAbort = true,
            AuthOpts = bus.NKeyFile is not null ? NKeyAuth(bus.NKeyFile)
                : bus.CredentialsFile is not null ? NatsAuthOpts.Default with { CredsFile = CheckedCreds(bus.CredentialsFile) }
                : NatsAuthOpts.Default,
            TlsOpts = new NatsTlsOpts
            {
                Mode = tls.Required ? TlsMode.Require : TlsMode.Auto,
                CaFile = tls.CaFile,
                CertFile = tls.CertFile,
                KeyFile = tls.KeyFile,
            },
        };
    }

    /// <summary><paramref name="path"/>, once it is seen to hold a user JWT and a seed (as `nsc` writes a .creds file).</summary>
    private static string CheckedCreds(string path)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (IOException e)
        {
            throw new InvalidDataException($"bus.credentials_file {path}: {e.Message}", e);
        }
        if (!lines.Any(l => l.Contains("BEGIN NATS USER JWT", StringComparison.Ordinal)) || !lines.Any(l => l.Contains("BEGIN USER NKEY SEED", StringComparison.Ordinal)))
            throw new InvalidDataException($"bus.credentials_file {path}: not a NATS .creds file (a user JWT and its NKey seed, as nsc writes them)");
        return path;
    }

    /// <summary>
    /// The user seed in <paramref name="path"/> (the line starting "SU", as `nk -gen user` writes it) and its public key,
    /// derived here so the file needs nothing else.
    /// </summary>
    private static NatsAuthOpts NKeyAuth(string path)
    {
        string? seed;
        try
        {
            seed = File.ReadLines(path).Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("SU", StringComparison.Ordinal));
        }
        catch (IOException e)
        {
            throw new InvalidDataException($"bus.nkey_file {path}: {e.Message}", e);
        }
        if (seed is null) throw new InvalidDataException($"bus.nkey_file {path}: no user NKey seed in it (a line starting SU)");
        try
        {
            using var pair = NATS.NKeys.KeyPair.FromSeed(seed.AsSpan());
            return NatsAuthOpts.Default with { Seed = seed, NKey = pair.GetPublicKey() };
        }
#pragma warning disable CA1031 // whatever the decoder throws, the file holds no usable seed; the seed itself is never shown
        catch (Exception e) when (e is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            throw new InvalidDataException($"bus.nkey_file {path}: its SU line is not a valid NKey seed ({e.GetType().Name})", e);
        }
    }

    /// <summary>
    /// One attempt to connect with <paramref name="bus"/>'s URL, credentials and TLS, apart from a hub's own connection
    /// (which retries forever and never says why): serve's start-up check. NATS that cannot be reached is
    /// <see cref="BusReachability.Unreachable"/> (a replica starts anyway, and the bus comes when NATS does); a NATS
    /// server that answers and refuses this replica (its credentials, or TLS) is <see cref="BusReachability.Refused"/>,
    /// a configuration error that waiting does not mend.
    /// </summary>
    public static async Task<BusProbe> ProbeAsync(BusOptions bus, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(bus);
        var options = ConnectionOptions(bus, "probe", Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance) with
        {
            RetryOnInitialConnect = false,
            MaxReconnectRetry = 0,
            ConnectTimeout = timeout,
        };
        try
        {
            await using var probe = new NatsConnection(options);
            await probe.ConnectAsync().AsTask().WaitAsync(timeout + TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            return new BusProbe(BusReachability.Connected, null);
        }
#pragma warning disable CA1031 // every failure is an answer here: classified, never thrown
        catch (Exception e)
#pragma warning restore CA1031
        {
            return Classify(e);
        }
    }

    /// <summary>What a failed connection attempt says: refused (the server answered no) or unreachable.</summary>
    internal static BusProbe Classify(Exception e)
    {
        var chain = new List<Exception>();
        for (var x = e; x is not null; x = x.InnerException) chain.Add(x);
        // The most telling first: what NATS said, then what TLS said, then the client's own words.
        foreach (var x in chain)
        {
            switch (x)
            {
                case NatsServerException { IsAuthError: true } auth:
                    return Refused($"NATS refused this replica's credentials ({auth.Error}): check the user and password or token in bus.url, bus.credentials_file or bus.nkey_file");
                case NatsServerException server:
                    return Refused($"NATS refused the connection ({server.Error})");
                case System.Security.Authentication.AuthenticationException tls:
                    return Refused($"the TLS handshake with NATS failed ({tls.Message}): check bus.tls.ca_file (the CA that signed NATS's certificate) and the host in bus.url");
            }
        }
        // NATS's TLS alert (a client certificate it does not accept) reaches .NET as OpenSSL's error.
        if (chain.FirstOrDefault(x => x.GetType().Name.Contains("Ssl", StringComparison.Ordinal) || x.Message.Contains("SSL routines", StringComparison.Ordinal)) is { } ssl)
            return Refused($"NATS ended the TLS handshake ({ssl.Message}): check bus.tls.cert_file and key_file (NATS verifies clients)");
        if (chain.OfType<NatsException>().FirstOrDefault(n => n.Message.Contains("TLS", StringComparison.Ordinal) || n.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase)) is { } said)
            return Refused(said.Message);
        return new BusProbe(BusReachability.Unreachable, BusOptions.Redact(chain[^1].Message));

        static BusProbe Refused(string reason) => new(BusReachability.Refused, BusOptions.Redact(reason));
    }

    /// <summary>The host name (a pod's name in Kubernetes) and a random suffix, so two processes on one host differ.</summary>
    private static string DefaultReplicaId()
    {
        var host = new string(Environment.MachineName.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray());
        return $"{(host.Length == 0 ? "replica" : host)}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";
    }

    private NatsHeaders Headers(string type, ulong? sequence)
    {
        var headers = new NatsHeaders
        {
            [BusSubjects.SchemaHeader] = BusSubjects.SchemaVersion,
            [BusSubjects.TypeHeader] = type,
            [BusSubjects.ReplicaHeader] = ReplicaId,
        };
        if (sequence is { } s) headers[BusSubjects.SequenceHeader] = BusSubjects.Format(s);
        return headers;
    }

    private void Send(string subject, IMessage message, DropCounter? counter, ulong? sequence = null) =>
        _outbox.Send(subject, message.ToByteArray(), Headers(message.Descriptor.FullName, sequence), counter);

    private void SendHeartbeat()
    {
        lock (_lifecycle)
        {
            var beat = new BusHeartbeat
            {
                ReplicaId = ReplicaId,
                SentUnixMs = _time.GetUtcNow().ToUnixTimeMilliseconds(),
                IntervalMs = (uint)(_bus.HeartbeatSeconds * 1000),
                TtlMs = (uint)(_bus.SessionTtlSeconds * 1000),
            };
            beat.Sessions.AddRange(_local.Values.Select(s => s.Info));
            Send(Subjects.Heartbeat(ReplicaId), beat, null);
        }
    }

    private async ValueTask OnConnectedAsync(object? sender, NatsEventArgs args)
    {
        _log.LogInformation("bus: connected to NATS at {Url} as replica {Replica}", _bus.RedactedUrl, ReplicaId);
        // Who else is there: every replica answers a hello with its heartbeat, so the list is whole at once.
        _outbox.Send(Subjects.Hello, [], Headers("hello", null));
        SendHeartbeat();
        // Off the client's event loop: the stream request waits for a reply that loop delivers.
        if (_js is not null) _ = Task.Run(EnsureStreamAsync);
        await Task.CompletedTask.ConfigureAwait(false);
    }

    private async Task EnsureStreamAsync()
    {
        var js = _bus.JetStream;
        try
        {
            await _js!.CreateOrUpdateStreamAsync(new JsStreamConfig(js.Stream, [Subjects.AllEvents])
            {
                MaxAge = TimeSpan.FromMinutes(js.MaxAgeMinutes),
                MaxBytes = js.MaxBytes,
                Storage = js.Storage == "memory" ? StreamConfigStorage.Memory : StreamConfigStorage.File,
                NumReplicas = js.Replicas,
                Discard = StreamConfigDiscard.Old,
            }, _stop.Token).ConfigureAwait(false);
            _log.LogInformation("bus: JetStream stream {Stream} keeps events for {Minutes} min", js.Stream, js.MaxAgeMinutes);
        }
#pragma warning disable CA1031 // retention is optional: live events still flow without it, and the next connection tries again
        catch (Exception e) when (!_stop.IsCancellationRequested)
#pragma warning restore CA1031
        {
            _log.LogWarning("bus: cannot create JetStream stream {Stream} ({Reason}); events are not retained (is JetStream enabled on the NATS server?)",
                js.Stream, e.Message);
        }
    }

    private async Task ReceiveAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await foreach (var msg in _nats.SubscribeAsync(Subjects.All, serializer: Raw, cancellationToken: token).ConfigureAwait(false))
                    Handle(msg);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // the subscription is rebuilt; a replica never stops listening while it runs
            catch (Exception e)
#pragma warning restore CA1031
            {
                _log.LogWarning("bus: subscription failed ({Reason}); subscribing again", e.Message);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(_bus.ReconnectSeconds), token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private void Handle(NatsMsg<byte[]> msg)
    {
        var parsed = Subjects.Parse(msg.Subject);
        if (parsed is null) return;
        var headers = msg.Headers;
        string? schema = null;
        if (headers is null || !headers.TryGetLastValue(BusSubjects.SchemaHeader, out schema) || schema != BusSubjects.SchemaVersion)
        {
            if (Interlocked.Increment(ref _rejected) == 1)
                _log.LogWarning("bus: ignoring {Subject}: bus schema {Schema}, this replica speaks {Ours}", msg.Subject, schema ?? "(none)", BusSubjects.SchemaVersion);
            return;
        }
        headers.TryGetLastValue(BusSubjects.ReplicaHeader, out var replica);
        if (replica == ReplicaId) return;
        Interlocked.Increment(ref _received);
        var data = msg.Data ?? [];
        try
        {
            switch (parsed.Kind)
            {
                case BusSubjects.MessageKind.Hello:
                    SendHeartbeat();
                    break;
                case BusSubjects.MessageKind.Heartbeat:
                    OnHeartbeat(BusHeartbeat.Parser.ParseFrom(data));
                    break;
                case BusSubjects.MessageKind.Started:
                    var info = SessionInfo.Parser.ParseFrom(data);
                    if (info.ReplicaId.Length == 0) info.ReplicaId = replica ?? "";
                    lock (_gate)
                    {
                        Heard(info.ReplicaId, null);
                        EnsureMirror(info);
                    }
                    break;
                case BusSubjects.MessageKind.Ended:
                    lock (_gate)
                    {
                        if (_mirrors.Remove(parsed.Id, out var ended)) ended.Session.DisposeAsync().AsTask().GetAwaiter().GetResult();
                    }
                    break;
                case BusSubjects.MessageKind.Event:
                    OnEvent(parsed.Id, msg.Subject.EndsWith(".event.summary", StringComparison.Ordinal), replica, headers, data);
                    break;
            }
        }
        catch (InvalidProtocolBufferException e)
        {
            if (Interlocked.Increment(ref _rejected) == 1) _log.LogWarning("bus: ignoring {Subject}: {Reason}", msg.Subject, e.Message);
        }
    }

    private void OnEvent(string sessionId, bool summary, string? replica, NatsHeaders headers, byte[] data)
    {
        Mirror? mirror;
        lock (_gate)
        {
            if (replica is not null) Heard(replica, null);
            _mirrors.TryGetValue(sessionId, out mirror);
        }
        if (mirror is null)
        {
            // Its start was missed (this replica joined or reconnected since): the producer's next heartbeat lists it.
            long now = _time.GetTimestamp();
            long last = Interlocked.Read(ref _lastHello);
            if ((last == 0 || _time.GetElapsedTime(last, now).TotalSeconds >= _bus.HeartbeatSeconds) && Interlocked.CompareExchange(ref _lastHello, now, last) == last)
                _outbox.Send(Subjects.Hello, [], Headers("hello", null));
            return;
        }
        ulong sequence = headers.TryGetLastValue(BusSubjects.SequenceHeader, out var s)
                         && ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;
        mirror.LastSequence = sequence;
        if (summary) mirror.Summarised = true;
        // Nobody watching: no need to decode it.
        if (!_fanout.IsWatched(sessionId)) return;
        mirror.Session.Publish(StreamingRecognizeResponse.Parser.ParseFrom(data), sequence);
    }

    private void OnHeartbeat(BusHeartbeat beat)
    {
        lock (_gate)
        {
            Heard(beat.ReplicaId, beat.TtlMs > 0 ? TimeSpan.FromMilliseconds(beat.TtlMs) : null);
            var listed = new HashSet<string>(StringComparer.Ordinal);
            foreach (var info in beat.Sessions)
            {
                if (info.ReplicaId.Length == 0) info.ReplicaId = beat.ReplicaId;
                listed.Add(info.SessionId);
                EnsureMirror(info);
            }
            // The replica's heartbeat follows every start and end it sent, in order: one it no longer lists has ended
            // and its end was lost on the way.
            foreach (var gone in _mirrors.Values.Where(m => m.Replica == beat.ReplicaId && !listed.Contains(m.Session.SessionId)).ToList())
                Lose(gone, $"replica {beat.ReplicaId} no longer serves it and its end was not received");
        }
    }

    /// <summary>Under <see cref="_gate"/>.</summary>
    private void Heard(string replica, TimeSpan? ttl)
    {
        if (replica.Length == 0) return;
        if (!_replicas.TryGetValue(replica, out var state)) _replicas[replica] = state = new Replica(TimeSpan.FromSeconds(_bus.SessionTtlSeconds));
        state.LastHeard = _time.GetTimestamp();
        if (ttl is { } t) state.Ttl = t;
    }

    /// <summary>Under <see cref="_gate"/>.</summary>
    private void EnsureMirror(SessionInfo info)
    {
        if (_local.ContainsKey(info.SessionId) || _mirrors.ContainsKey(info.SessionId)) return;
        _mirrors[info.SessionId] = new Mirror(info.ReplicaId, _fanout.Open(info));
    }

    /// <summary>Under <see cref="_gate"/>: watchers get a LOST summary and the session leaves the list.</summary>
    private void Lose(Mirror mirror, string detail)
    {
        _mirrors.Remove(mirror.Session.SessionId);
        if (mirror.Summarised)
        {
            // Its summary came; only the end that followed was lost on the way: nothing to tell anyone.
            mirror.Session.DisposeAsync().AsTask().GetAwaiter().GetResult();
            return;
        }
        Interlocked.Increment(ref _lost);
        _log.LogWarning("bus: session {Session} lost: {Detail}", mirror.Session.SessionId, detail);
        mirror.Session.Publish(new StreamingRecognizeResponse
        {
            SessionId = mirror.Session.SessionId,
            Summary = new SessionSummary { Reason = EndReason.Lost, Detail = detail },
        }, mirror.LastSequence == 0 ? 0 : mirror.LastSequence + 1); // unnumbered (0) when no event was seen, so a replaying watcher never skips it as already replayed
        mirror.Session.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    private async Task BeatAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(_bus.HeartbeatSeconds), _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                SendHeartbeat();
                Sweep();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Sessions of replicas silent for longer than their TTL are lost.</summary>
    internal void Sweep()
    {
        lock (_gate)
        {
            foreach (var (name, replica) in _replicas.ToList())
            {
                var silent = _time.GetElapsedTime(replica.LastHeard);
                if (silent <= replica.Ttl) continue;
                _replicas.Remove(name);
                foreach (var mirror in _mirrors.Values.Where(m => m.Replica == name).ToList())
                    Lose(mirror, $"replica {name} sent no heartbeat for {silent.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s (session TTL {replica.Ttl.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s)");
            }
        }
    }

    /// <summary>Retained events of the last <paramref name="replay"/>, oldest first, read from the JetStream stream.</summary>
    private async Task<List<WatchResponse>> ReplayAsync(string? sessionId, TimeSpan replay, CancellationToken cancellationToken)
    {
        var js = _bus.JetStream;
        var max = TimeSpan.FromMinutes(js.MaxAgeMinutes);
        if (replay > max) replay = max;
        bool one = !string.IsNullOrEmpty(sessionId);
        if (one && !BusOptions.IsToken(sessionId)) return [];
        var replayed = new List<WatchResponse>();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            var consumer = await _js!.CreateOrderedConsumerAsync(js.Stream, new NatsJSOrderedConsumerOpts
            {
                FilterSubjects = [one ? Subjects.Events(sessionId!) : Subjects.AllEvents],
                DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartTime,
                OptStartTime = _time.GetUtcNow() - replay,
            }, timeout.Token).ConfigureAwait(false);
            bool more = true;
            while (more && replayed.Count < js.MaxReplayEvents)
            {
                more = false;
                await foreach (var msg in consumer.FetchNoWaitAsync(new NatsJSFetchOpts { MaxMsgs = Math.Min(512, js.MaxReplayEvents - replayed.Count) }, Raw, timeout.Token)
                                   .ConfigureAwait(false))
                {
                    var parsed = Subjects.Parse(msg.Subject);
                    if (parsed is { Kind: BusSubjects.MessageKind.Event } && (!one || parsed.Id == sessionId) && msg.Data is not null
                        && msg.Headers is { } h && h.TryGetLastValue(BusSubjects.SchemaHeader, out var schema) && schema == BusSubjects.SchemaVersion)
                    {
                        ulong sequence = h.TryGetLastValue(BusSubjects.SequenceHeader, out var s)
                                         && ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;
                        var e = StreamingRecognizeResponse.Parser.ParseFrom(msg.Data);
                        replayed.Add(new WatchResponse { SessionId = e.SessionId, Event = e, Sequence = sequence, Replayed = true });
                    }
                    more = msg.Metadata is { NumPending: > 0 };
                }
            }
        }
        catch (Exception e) when (e is not RpcException && !cancellationToken.IsCancellationRequested)
        {
            _log.LogWarning("bus: replay from JetStream stream {Stream} failed ({Reason}); the watcher goes on live", js.Stream, e.Message);
        }
        return replayed;
    }

    /// <summary>A session of this replica: its local fan-out, then the bus.</summary>
    private sealed class LocalSession(NatsSessionHub hub, InProcessSessionHub.Session session, SessionInfo info) : ISessionPublisher
    {
        private readonly DropCounter _dropped = new();
        private int _disposed;

        public SessionInfo Info { get; } = info;

        public string SessionId => Info.SessionId;

        public long Dropped => _dropped.Count;

        public void Publish(StreamingRecognizeResponse e)
        {
            ArgumentNullException.ThrowIfNull(e);
            ulong sequence = session.PublishNumbered(e);
            hub.Send(hub.Subjects.Event(SessionId, e), e, _dropped, sequence);
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            lock (hub._lifecycle)
            {
                hub._local.TryRemove(SessionId, out _);
                hub.Send(hub.Subjects.Ended(SessionId), Info, _dropped);
            }
            await session.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Another replica's session as this one sees it.</summary>
    private sealed class Mirror(string replica, InProcessSessionHub.Session session)
    {
        public string Replica { get; } = replica;

        public InProcessSessionHub.Session Session { get; } = session;

        public ulong LastSequence { get; set; }

        /// <summary>Its summary arrived: it ended, whatever happens to its end message.</summary>
        public bool Summarised { get; set; }
    }

    private sealed class Replica(TimeSpan ttl)
    {
        public long LastHeard { get; set; }

        public TimeSpan Ttl { get; set; } = ttl;
    }

    /// <summary>Replayed events first, then the live ones not already replayed (by their numbers within each session).</summary>
    private sealed class ReplayingSubscription(List<WatchResponse> replayed, InProcessSessionHub.Watcher? live) : IWatchSubscription
    {
        public long Dropped => live?.Dropped ?? 0;

        public async IAsyncEnumerable<WatchResponse> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var last = new Dictionary<string, ulong>(StringComparer.Ordinal);
            foreach (var r in replayed)
            {
                last[r.SessionId] = Math.Max(r.Sequence, last.GetValueOrDefault(r.SessionId));
                yield return r;
            }
            if (live is null) yield break;
            await foreach (var w in live.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (w.Sequence != 0 && last.TryGetValue(w.SessionId, out var seen) && w.Sequence <= seen) continue;
                yield return w;
            }
        }

        public ValueTask DisposeAsync() => live?.DisposeAsync() ?? ValueTask.CompletedTask;
    }
}

/// <summary>What <see cref="NatsSessionHub.ProbeAsync"/> found.</summary>
public enum BusReachability
{
    Connected,
    /// <summary>No answer (NATS down, a wrong host or port): a replica starts anyway and connects when NATS comes.</summary>
    Unreachable,
    /// <summary>NATS answered and refused this replica: wrong credentials or TLS settings.</summary>
    Refused,
}

/// <summary>A start-up check's outcome and, unless connected, why (passwords and tokens hidden).</summary>
public sealed record BusProbe(BusReachability State, string? Reason);
