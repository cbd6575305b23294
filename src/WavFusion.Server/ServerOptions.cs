using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using WavFusion.Api.V1;
using WavFusion.Server.Dashboard;

namespace WavFusion.Server;

/// <summary>
/// The server's configuration (config/server.json): its limits and their status codes, watcher queues, TLS, which
/// channel roles are analysed, what is kept and for how long, and the shutdown grace. Unknown fields are errors, so a
/// misspelt limit is not silently left at its default.
/// </summary>
public sealed record ServerOptions
{
    [JsonPropertyName("limits")] public LimitOptions Limits { get; init; } = new();
    [JsonPropertyName("watch")] public WatchOptions Watch { get; init; } = new();
    [JsonPropertyName("tls")] public TlsOptions Tls { get; init; } = new();
    [JsonPropertyName("role_policy")] public RolePolicyOptions RolePolicy { get; init; } = new();
    [JsonPropertyName("retention")] public RetentionOptions Retention { get; init; } = new();
    [JsonPropertyName("shutdown")] public ShutdownOptions Shutdown { get; init; } = new();
    [JsonPropertyName("bus")] public BusOptions Bus { get; init; } = new();
    [JsonPropertyName("metrics")] public MetricsOptions Metrics { get; init; } = new();
    [JsonPropertyName("dashboard")] public DashboardOptions Dashboard { get; init; } = new();
    /// <summary>Keys starting with "//" are comments; any other unknown key is an error.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Comments { get; init; }

    private static readonly JsonSerializerOptions Json = new()
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        Converters = { new JsonStringEnumConverter<ChannelRole.Types.Role>(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
    };

    /// <summary>Reads and checks <paramref name="path"/>; errors name the file and the field.</summary>
    public static ServerOptions Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: server configuration not found", path);
        ServerOptions options;
        try
        {
            options = JsonSerializer.Deserialize<ServerOptions>(File.ReadAllText(path), Json)
                      ?? throw new InvalidDataException($"{path}: empty configuration");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
        options.Validate(path);
        return options.RelativeTo(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>The file and folder paths of this configuration taken relative to <paramref name="folder"/> (the config file's).</summary>
    public ServerOptions RelativeTo(string folder) => this with
    {
        Tls = Tls with
        {
            Certificate = Tls.Certificate is null ? null : Path.GetFullPath(Tls.Certificate, folder),
            Key = Tls.Key is null ? null : Path.GetFullPath(Tls.Key, folder),
        },
        Retention = Retention with { MediaFolder = Retention.MediaFolder is null ? null : Path.GetFullPath(Retention.MediaFolder, folder) },
        Bus = Bus with
        {
            CredentialsFile = Bus.CredentialsFile is null ? null : Path.GetFullPath(Bus.CredentialsFile, folder),
            NKeyFile = Bus.NKeyFile is null ? null : Path.GetFullPath(Bus.NKeyFile, folder),
            Tls = Bus.Tls with
            {
                CaFile = Bus.Tls.CaFile is null ? null : Path.GetFullPath(Bus.Tls.CaFile, folder),
                CertFile = Bus.Tls.CertFile is null ? null : Path.GetFullPath(Bus.Tls.CertFile, folder),
                KeyFile = Bus.Tls.KeyFile is null ? null : Path.GetFullPath(Bus.Tls.KeyFile, folder),
            },
        },
    };

    public void Validate(string source)
    {
        foreach (var key in Comments?.Keys ?? Enumerable.Empty<string>())
            if (!key.StartsWith("//", StringComparison.Ordinal)) throw new InvalidDataException($"{source}: unknown field '{key}'");
        var l = Limits;
        Positive(source, "limits.max_message_bytes", l.MaxMessageBytes);
        if (!(l.MaxRealtimeSpeed > 0)) throw new InvalidDataException($"{source}: limits.max_realtime_speed must be positive, got {l.MaxRealtimeSpeed.ToString(CultureInfo.InvariantCulture)}");
        if (l.RealtimeBurstMs < 0) throw new InvalidDataException($"{source}: limits.realtime_burst_ms must not be negative, got {l.RealtimeBurstMs}");
        if (!(l.MaxStreamSeconds > 0)) throw new InvalidDataException($"{source}: limits.max_stream_seconds must be positive, got {l.MaxStreamSeconds.ToString(CultureInfo.InvariantCulture)}");
        Positive(source, "limits.max_streams_per_key", l.MaxStreamsPerKey);
        Positive(source, "limits.max_streams", l.MaxStreams);
        Positive(source, "limits.max_watchers_per_session", l.MaxWatchersPerSession);
        Positive(source, "limits.max_all_session_watchers", l.MaxAllSessionWatchers);
        Positive(source, "limits.max_pending_transcripts", l.MaxPendingTranscripts);
        Positive(source, "limits.max_frame_pixels", l.MaxFramePixels);
        Positive(source, "watch.queue_capacity", Watch.QueueCapacity);
        if (Tls.Key is not null && Tls.Certificate is null) throw new InvalidDataException($"{source}: tls.key needs tls.certificate");
        if (RolePolicy.AnalysedRoles.Count == 0)
            throw new InvalidDataException($"{source}: role_policy.analysed_roles is empty: no channel would ever be analysed");
        foreach (var role in RolePolicy.AnalysedRoles.Append(RolePolicy.MonoDefaultRole))
            if (role == ChannelRole.Types.Role.Unspecified) throw new InvalidDataException($"{source}: role_policy: roles are customer, agent or other");
        if (RolePolicy.AnalysedRoles.Contains(ChannelRole.Types.Role.Agent))
            throw new InvalidDataException($"{source}: role_policy.analysed_roles may not contain agent: an employee's emotions are never inferred (EU AI Act art. 5(1)(f))");
        if (Retention.StoreMedia && string.IsNullOrWhiteSpace(Retention.MediaFolder))
            throw new InvalidDataException($"{source}: retention.store_media needs retention.media_folder");
        if (Retention.MediaDays < 0) throw new InvalidDataException($"{source}: retention.media_days must not be negative, got {Retention.MediaDays}");
        if (!(Shutdown.GraceSeconds >= 0)) throw new InvalidDataException($"{source}: shutdown.grace_seconds must not be negative");
        Dashboard.Validate(source);
        Bus.Validate(source);
        if (Metrics.Listen is not null)
        {
            try
            {
                _ = Hosting.ListenAddress.Parse(Metrics.Listen);
            }
            catch (FormatException e)
            {
                throw new InvalidDataException($"{source}: metrics.listen: {e.Message}", e);
            }
        }
    }

    private static void Positive(string source, string field, long value)
    {
        if (value <= 0) throw new InvalidDataException($"{source}: {field} must be positive, got {value}");
    }
}

/// <summary>Every limit a caller can hit, each with the status code the proto documents.</summary>
public sealed record LimitOptions
{
    /// <summary>Largest request message (RESOURCE_EXHAUSTED above it); gRPC's own default is 4 MiB.</summary>
    [JsonPropertyName("max_message_bytes")] public int MaxMessageBytes { get; init; } = 4 * 1024 * 1024;
    /// <summary>Stream time may advance at this multiple of the wall clock (1.0: real time)…</summary>
    [JsonPropertyName("max_realtime_speed")] public double MaxRealtimeSpeed { get; init; } = 1.0;
    /// <summary>…plus this much ahead, for network bursts (RESOURCE_EXHAUSTED beyond).</summary>
    [JsonPropertyName("realtime_burst_ms")] public int RealtimeBurstMs { get; init; } = 10_000;
    /// <summary>Longest stream, in stream time or wall time (DEADLINE_EXCEEDED).</summary>
    [JsonPropertyName("max_stream_seconds")] public double MaxStreamSeconds { get; init; } = 4 * 3600;
    /// <summary>Concurrent streams of one key (UNAVAILABLE); without a keys file every caller shares one.</summary>
    [JsonPropertyName("max_streams_per_key")] public int MaxStreamsPerKey { get; init; } = 16;
    /// <summary>Concurrent streams in all (UNAVAILABLE).</summary>
    [JsonPropertyName("max_streams")] public int MaxStreams { get; init; } = 64;
    /// <summary>Watchers of one session (RESOURCE_EXHAUSTED).</summary>
    [JsonPropertyName("max_watchers_per_session")] public int MaxWatchersPerSession { get; init; } = 256;
    /// <summary>Watchers of all sessions at once (RESOURCE_EXHAUSTED).</summary>
    [JsonPropertyName("max_all_session_watchers")] public int MaxAllSessionWatchers { get; init; } = 1024;
    /// <summary>Client transcript segments waiting for their audio (RESOURCE_EXHAUSTED): text far ahead of the audio.</summary>
    [JsonPropertyName("max_pending_transcripts")] public int MaxPendingTranscripts { get; init; } = 1024;
    /// <summary>Largest JPEG frame, in pixels; larger ones are skipped unread and counted as undecodable.</summary>
    [JsonPropertyName("max_frame_pixels")] public long MaxFramePixels { get; init; } = 4096L * 4096;
}

public sealed record WatchOptions
{
    /// <summary>Events a watcher may fall behind by; beyond, its oldest are dropped and counted in its responses.</summary>
    [JsonPropertyName("queue_capacity")] public int QueueCapacity { get; init; } = 256;
}

/// <summary>TLS for Kestrel. Plaintext is served on loopback only, unless <see cref="AllowPlaintextRemote"/>.</summary>
public sealed record TlsOptions
{
    /// <summary>A PFX/PKCS#12 file, or a PEM certificate (with <see cref="Key"/>); relative to the config file.</summary>
    [JsonPropertyName("certificate")] public string? Certificate { get; init; }
    /// <summary>The PEM private key of a PEM certificate.</summary>
    [JsonPropertyName("key")] public string? Key { get; init; }
    /// <summary>The environment variable holding the PFX or key password, so no secret sits in the config.</summary>
    [JsonPropertyName("password_env")] public string? PasswordEnv { get; init; }
    /// <summary>Serve plaintext HTTP/2 on a non-loopback address (behind a TLS-terminating proxy only).</summary>
    [JsonPropertyName("allow_plaintext_remote")] public bool AllowPlaintextRemote { get; init; }
}

/// <summary>
/// Which channel roles are recognised (DESIGN.md §6: operators restrict emotion inference to the customer side of a
/// call). AGENT can never be analysed.
/// </summary>
public sealed record RolePolicyOptions
{
    [JsonPropertyName("analysed_roles")] public IReadOnlyList<ChannelRole.Types.Role> AnalysedRoles { get; init; } = [ChannelRole.Types.Role.Customer];
    /// <summary>The role of a mono stream's only channel when the caller names none.</summary>
    [JsonPropertyName("mono_default_role")] public ChannelRole.Types.Role MonoDefaultRole { get; init; } = ChannelRole.Types.Role.Customer;
}

/// <summary>What the server keeps. By default nothing: media and events pass through memory only.</summary>
public sealed record RetentionOptions
{
    /// <summary>Write each stream's received audio (WAV, as sent) and frames (JPEG) under <see cref="MediaFolder"/>.</summary>
    [JsonPropertyName("store_media")] public bool StoreMedia { get; init; }
    [JsonPropertyName("media_folder")] public string? MediaFolder { get; init; }
    /// <summary>Stored media older than this many days is deleted (at start and hourly); 0 keeps it.</summary>
    [JsonPropertyName("media_days")] public int MediaDays { get; init; } = 30;
}

public sealed record ShutdownOptions
{
    /// <summary>On SIGTERM, open streams may finish within this; then their input is cut, the rest analysed and summarised.</summary>
    [JsonPropertyName("grace_seconds")] public double GraceSeconds { get; init; } = 30;
}

/// <summary>
/// Where sessions and their events are shared (DESIGN.md §8): <c>inprocess</c> (one server, the default: no NATS
/// needed) or <c>nats</c> (many replicas behind a gRPC load balancer, each serving ListSessions and Watch for all).
/// </summary>
public sealed partial record BusOptions
{
    public const string InProcess = "inprocess";
    public const string Nats = "nats";

    [JsonPropertyName("kind")] public string Kind { get; init; } = InProcess;
    /// <summary>
    /// The NATS server(s), comma-separated (nats://host:4222, tls://host:4222); nats://user:password@host or
    /// nats://token@host for a NATS server with user/password or token authorization. Logs and errors show it with the
    /// password or token hidden (<see cref="RedactedUrl"/>).
    /// </summary>
    [JsonPropertyName("url")] public string Url { get; init; } = "nats://127.0.0.1:4222";
    /// <summary>A NATS .creds file (a user JWT and its NKey seed; NATS in operator/JWT mode), relative to the config file.</summary>
    [JsonPropertyName("credentials_file")] public string? CredentialsFile { get; init; }
    /// <summary>A file holding a user's NKey seed ("SU..."), for a NATS server that lists the user's public NKey; relative to the config file.</summary>
    [JsonPropertyName("nkey_file")] public string? NKeyFile { get; init; }
    [JsonPropertyName("tls")] public BusTlsOptions Tls { get; init; } = new();
    /// <summary>The first token of every subject; replicas that should see each other share it.</summary>
    [JsonPropertyName("subject_prefix")] public string SubjectPrefix { get; init; } = "wavfusion";
    /// <summary>This replica's name on the bus (letters, digits, - and _); null: the host name and a random suffix.</summary>
    [JsonPropertyName("replica_id")] public string? ReplicaId { get; init; }
    /// <summary>How often a replica says which sessions it serves.</summary>
    [JsonPropertyName("heartbeat_seconds")] public double HeartbeatSeconds { get; init; } = 2;
    /// <summary>A replica not heard from for this long has lost its sessions: they leave ListSessions and watchers are told.</summary>
    [JsonPropertyName("session_ttl_seconds")] public double SessionTtlSeconds { get; init; } = 10;
    /// <summary>Messages waiting for the bus; beyond, and while the bus is unreachable, events meant for it are dropped and counted.</summary>
    [JsonPropertyName("buffer_messages")] public int BufferMessages { get; init; } = 8192;
    /// <summary>First wait before reconnecting to NATS (doubling up to 5 s); replicas reconnect by themselves forever.</summary>
    [JsonPropertyName("reconnect_seconds")] public double ReconnectSeconds { get; init; } = 0.5;
    [JsonPropertyName("jetstream")] public JetStreamOptions JetStream { get; init; } = new();

    public bool IsNats => string.Equals(Kind, Nats, StringComparison.Ordinal);

    public void Validate(string source)
    {
        if (Kind is not (InProcess or Nats)) throw new InvalidDataException($"{source}: bus.kind must be inprocess or nats, got '{Kind}'");
        if (!IsNats) return;
        if (string.IsNullOrWhiteSpace(Url)) throw new InvalidDataException($"{source}: bus.url is empty");
        if (!IsToken(SubjectPrefix)) throw new InvalidDataException($"{source}: bus.subject_prefix '{SubjectPrefix}' must be one subject token (letters, digits, - and _)");
        if (ReplicaId is not null && !IsToken(ReplicaId)) throw new InvalidDataException($"{source}: bus.replica_id '{ReplicaId}' must be letters, digits, - and _");
        if (!(HeartbeatSeconds > 0)) throw new InvalidDataException($"{source}: bus.heartbeat_seconds must be positive");
        if (!(SessionTtlSeconds >= 2 * HeartbeatSeconds))
            throw new InvalidDataException($"{source}: bus.session_ttl_seconds must be at least twice bus.heartbeat_seconds, or one late heartbeat would lose every session");
        if (BufferMessages <= 0) throw new InvalidDataException($"{source}: bus.buffer_messages must be positive, got {BufferMessages}");
        if (!(ReconnectSeconds > 0)) throw new InvalidDataException($"{source}: bus.reconnect_seconds must be positive");
        if (Tls.KeyFile is not null && Tls.CertFile is null) throw new InvalidDataException($"{source}: bus.tls.key_file needs bus.tls.cert_file");
        if (Tls.CertFile is not null && Tls.KeyFile is null) throw new InvalidDataException($"{source}: bus.tls.cert_file needs bus.tls.key_file");
        if (CredentialsFile is not null && NKeyFile is not null)
            throw new InvalidDataException($"{source}: bus.credentials_file and bus.nkey_file are two ways to authenticate to NATS: give one");
        MustExist(source, "bus.credentials_file", CredentialsFile);
        MustExist(source, "bus.nkey_file", NKeyFile);
        MustExist(source, "bus.tls.ca_file", Tls.CaFile);
        MustExist(source, "bus.tls.cert_file", Tls.CertFile);
        MustExist(source, "bus.tls.key_file", Tls.KeyFile);
        JetStream.Validate(source);
    }

    /// <summary><see cref="Url"/> with passwords and tokens hidden: what logs and errors may show.</summary>
    [JsonIgnore] public string RedactedUrl => Redact(Url);

    /// <summary>
    /// A NATS URL (or a comma-separated list, or a message naming one) with the secret of each user-info part hidden:
    /// user:password@ keeps the user, a lone token@ is hidden whole.
    /// </summary>
    public static string Redact(string text) =>
        UserInfo().Replace(text ?? "", m => m.Groups["user"].Success ? $"{m.Groups["scheme"].Value}{m.Groups["user"].Value}:***@" : $"{m.Groups["scheme"].Value}***@");

    [GeneratedRegex(@"(?<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?:(?<user>[^:@/\s,]*):)?[^@/\s,]+@")]
    private static partial Regex UserInfo();

    private static void MustExist(string source, string key, string? path)
    {
        if (path is not null && !File.Exists(Path.GetFullPath(path, Path.GetDirectoryName(Path.GetFullPath(source)) ?? ".")))
            throw new InvalidDataException($"{source}: {key} {path} not found");
    }

    /// <summary>A NATS subject token we create: no dots, wildcards or spaces.</summary>
    public static bool IsToken(string? s) => !string.IsNullOrEmpty(s) && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}

/// <summary>TLS to NATS: a CA to trust, and a client certificate where the NATS server asks for one.</summary>
public sealed record BusTlsOptions
{
    /// <summary>Use TLS even if the URL says nats:// (tls:// URLs always do).</summary>
    [JsonPropertyName("required")] public bool Required { get; init; }
    [JsonPropertyName("ca_file")] public string? CaFile { get; init; }
    [JsonPropertyName("cert_file")] public string? CertFile { get; init; }
    [JsonPropertyName("key_file")] public string? KeyFile { get; init; }
}

/// <summary>
/// Retention on the bus: a JetStream stream over every session's events (never media), so a dashboard opened late
/// replays the last minutes and analytics consumers read every final result durably.
/// </summary>
public sealed record JetStreamOptions
{
    [JsonPropertyName("enabled")] public bool Enabled { get; init; }
    /// <summary>The stream's name; replicas create it, or update it to this config, when they connect.</summary>
    [JsonPropertyName("stream")] public string Stream { get; init; } = "WAVFUSION_EVENTS";
    /// <summary>Events older than this are deleted.</summary>
    [JsonPropertyName("max_age_minutes")] public double MaxAgeMinutes { get; init; } = 15;
    /// <summary>The stream's size bound; the oldest events go first.</summary>
    [JsonPropertyName("max_bytes")] public long MaxBytes { get; init; } = 1L << 30;
    /// <summary>file or memory.</summary>
    [JsonPropertyName("storage")] public string Storage { get; init; } = "file";
    /// <summary>Copies of the stream in a NATS cluster (1, 3 or 5).</summary>
    [JsonPropertyName("replicas")] public int Replicas { get; init; } = 1;
    /// <summary>Most events one Watch replays before going live.</summary>
    [JsonPropertyName("max_replay_events")] public int MaxReplayEvents { get; init; } = 10_000;

    public void Validate(string source)
    {
        if (!Enabled) return;
        if (string.IsNullOrEmpty(Stream) || !Stream.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            throw new InvalidDataException($"{source}: bus.jetstream.stream '{Stream}' must be letters, digits, - and _");
        if (!(MaxAgeMinutes > 0)) throw new InvalidDataException($"{source}: bus.jetstream.max_age_minutes must be positive");
        if (MaxBytes <= 0) throw new InvalidDataException($"{source}: bus.jetstream.max_bytes must be positive");
        if (Storage is not ("file" or "memory")) throw new InvalidDataException($"{source}: bus.jetstream.storage must be file or memory, got '{Storage}'");
        if (Replicas is < 1 or > 5) throw new InvalidDataException($"{source}: bus.jetstream.replicas must be 1 to 5, got {Replicas}");
        if (MaxReplayEvents <= 0) throw new InvalidDataException($"{source}: bus.jetstream.max_replay_events must be positive");
    }
}

/// <summary>A Prometheus text endpoint (/metrics, HTTP/1.1) for autoscalers and dashboards; off unless <see cref="Listen"/> is set.</summary>
public sealed record MetricsOptions
{
    /// <summary>HOST:PORT for /metrics (port 0: a free one), e.g. 0.0.0.0:9464 in a pod; null: no endpoint.</summary>
    [JsonPropertyName("listen")] public string? Listen { get; init; }
}
