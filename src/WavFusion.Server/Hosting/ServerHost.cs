using System.Security.Cryptography.X509Certificates;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using WavFusion.Live.Pipeline;
using WavFusion.Server.Dashboard;
using WavFusion.Server.Security;
using WavFusion.Server.Services;
using WavFusion.Server.Sessions;
using WavFusion.Server.Sessions.Bus;
using WavFusion.Server.Streaming;

namespace WavFusion.Server.Hosting;

/// <summary>What a server is made of: the loaded runtime (shared by every stream), its options, the keys (null: open on loopback) and where it listens.</summary>
public sealed record ServerSetup(LiveRuntime Runtime, ServerOptions Options, ApiKeySet? Keys, ListenAddress Listen)
{
    /// <summary>The session hub; when null, the one the config's <c>bus</c> names (in process by default), owned by the server.</summary>
    public ISessionHub? Hub { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>
/// Builds the server: Kestrel on HTTP/2 (TLS from the config; plaintext on loopback, or where the config allows it),
/// the gRPC services behind the API-key interceptor, grpc.health.v1, reflection (v1 and v1alpha), the message size
/// limit, graceful shutdown. `wavfusion serve` runs it; tests host the same application in memory.
/// </summary>
public static class ServerHost
{
    /// <summary>
    /// The application for <paramref name="setup"/>. <paramref name="configure"/> runs last on the builder (tests swap
    /// Kestrel for the in-memory test server there). Refuses an open server (no keys) or a plaintext one off loopback.
    /// </summary>
    public static WebApplication Build(ServerSetup setup, Action<WebApplicationBuilder>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(setup);
        var options = setup.Options;
        CheckExposure(setup.Listen, setup.Keys, options);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("WavFusion", LogLevel.Information);

        var certificate = options.Tls.Certificate is null ? null : LoadCertificate(options.Tls);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = null;
            // A peer that vanishes without closing (a dropped network, a killed laptop) is noticed by pings, so its
            // stream or watch ends and frees its session instead of lingering until the duration limit.
            kestrel.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(30);
            kestrel.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(20);
            kestrel.Listen(setup.Listen.Address, setup.Listen.Port, listen =>
            {
                if (certificate is null)
                {
                    // Plaintext HTTP/2 needs prior knowledge: no HTTP/1.1 on this endpoint.
                    listen.Protocols = HttpProtocols.Http2;
                }
                else
                {
                    listen.Protocols = HttpProtocols.Http1AndHttp2;
                    listen.UseHttps(certificate);
                }
            });
        });
        var dashboard = DashboardSite.Add(builder, setup, certificate);
        var metrics = MetricsEndpoint.Add(builder, options);
        builder.Services.Configure<HostOptions>(o =>
            o.ShutdownTimeout = TimeSpan.FromSeconds(options.Shutdown.GraceSeconds) + ShutdownCoordinator.DrainAllowance + TimeSpan.FromSeconds(5));

        var media = options.Retention.StoreMedia ? new MediaStore(options.Retention.MediaFolder!, options.Retention.MediaDays, setup.Time) : null;
        // A hub the server makes is a service of the container, so it is disposed (the bus connection closed) with the app.
        if (setup.Hub is null) builder.Services.AddSingleton(sp => CreateHub(options, sp.GetRequiredService<ILoggerFactory>(), setup.Time));
        builder.Services.AddSingleton(sp => new ServerContext(setup.Runtime, setup.Hub ?? sp.GetRequiredService<ISessionHub>(), options,
            new StreamRegistry(options.Limits), setup.Time, media));
        builder.Services.AddSingleton(new ApiKeyInterceptor(setup.Keys));
        builder.Services.AddSingleton<HealthServiceImpl>();
        builder.Services.AddSingleton<ShutdownCoordinator>();
        if (media is not null) builder.Services.AddHostedService(sp => new MediaRetentionService(media, sp.GetRequiredService<ILogger<MediaRetentionService>>()));
        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = options.Limits.MaxMessageBytes;
            grpc.MaxSendMessageSize = null;
            grpc.Interceptors.Add<ApiKeyInterceptor>();
        });
        builder.Services.AddGrpcReflection();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.MapGrpcService<EmotionRecognizerService>();
        app.MapGrpcService<SessionMonitorService>();
        app.MapGrpcService<HealthServiceImpl>();
        app.MapGrpcReflectionService();
        dashboard?.Map(app, setup.Keys);
        metrics?.Map(app, app.Services.GetRequiredService<ServerContext>());

        var lifetime = app.Services.GetRequiredService<IHostApplicationLifetime>();
        var health = app.Services.GetRequiredService<HealthServiceImpl>();
        var shutdown = app.Services.GetRequiredService<ShutdownCoordinator>();
        lifetime.ApplicationStarted.Register(() =>
        {
            foreach (var service in HealthStatuses.Services) health.SetStatus(service, HealthCheckResponse.Types.ServingStatus.Serving);
        });
        lifetime.ApplicationStopping.Register(shutdown.Begin);
        var log = app.Services.GetRequiredService<ILogger<ServerContext>>();
        if (setup.Keys is null)
            log.LogWarning("no API keys file: the server is open to every local caller (loopback only); give --api-keys to require keys");
        if (certificate is null && !setup.Listen.IsLoopback)
            log.LogWarning("serving plaintext HTTP/2 on {Address} (tls.allow_plaintext_remote): put a TLS-terminating proxy in front", setup.Listen);
        return app;
    }

    /// <summary>The hub <paramref name="options"/>' <c>bus</c> names: this process alone, or NATS shared with other replicas.</summary>
    public static ISessionHub CreateHub(ServerOptions options, ILoggerFactory loggers, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Bus.IsNats ? new NatsSessionHub(options, loggers, time) : new InProcessSessionHub(options);
    }

    /// <summary>An open server only on loopback; plaintext only on loopback unless the config allows it.</summary>
    public static void CheckExposure(ListenAddress listen, ApiKeySet? keys, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(listen);
        ArgumentNullException.ThrowIfNull(options);
        if (listen.IsLoopback) return;
        if (keys is null)
            throw new InvalidOperationException(
                $"--listen {listen}: without an API keys file (--api-keys) the server listens on loopback only (127.0.0.1, [::1], localhost)");
        if (options.Tls.Certificate is null && !options.Tls.AllowPlaintextRemote)
            throw new InvalidOperationException(
                $"--listen {listen}: plaintext off loopback would send API keys in clear; set tls.certificate in the server config (or tls.allow_plaintext_remote behind a TLS proxy)");
    }

    private static X509Certificate2 LoadCertificate(TlsOptions tls)
    {
        string path = tls.Certificate!;
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: TLS certificate not found (tls.certificate)", path);
        string? password = null;
        if (tls.PasswordEnv is not null)
            password = Environment.GetEnvironmentVariable(tls.PasswordEnv)
                       ?? throw new InvalidOperationException($"tls.password_env names {tls.PasswordEnv}, which is not set");
        try
        {
            bool pem = tls.Key is not null || path.EndsWith(".pem", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".crt", StringComparison.OrdinalIgnoreCase);
            if (!pem) return X509CertificateLoader.LoadPkcs12FromFile(path, password);
            if (tls.Key is not null && !File.Exists(tls.Key)) throw new FileNotFoundException($"{tls.Key}: TLS key not found (tls.key)", tls.Key);
            return password is null
                ? X509Certificate2.CreateFromPemFile(path, tls.Key)
                : X509Certificate2.CreateFromEncryptedPemFile(path, password, tls.Key);
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new InvalidDataException($"{path}: not a certificate with its private key that can be loaded ({e.Message})", e);
        }
    }
}

/// <summary>Deletes stored media past its retention at start and every hour.</summary>
internal sealed class MediaRetentionService(MediaStore media, ILogger<MediaRetentionService> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1));
        do
        {
            int deleted = media.Sweep();
            if (deleted > 0) log.LogInformation("retention: deleted {Days} day folder(s) of stored media under {Folder}", deleted, media.Folder);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}
