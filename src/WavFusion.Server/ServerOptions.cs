using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
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
