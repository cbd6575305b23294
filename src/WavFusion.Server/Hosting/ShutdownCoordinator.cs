using Grpc.Health.V1;
using Grpc.HealthCheck;
using Microsoft.Extensions.Logging;

namespace WavFusion.Server.Hosting;

/// <summary>
/// Graceful shutdown (SIGTERM, Ctrl+C): health turns NOT_SERVING at once and new streams are refused (UNAVAILABLE)
/// while Kestrel stops accepting connections; open streams may finish within shutdown.grace_seconds; after it their
/// input is cut, what they received is analysed and each gets its summary; then the watchers' calls end.
/// </summary>
public sealed class ShutdownCoordinator(ServerContext server, HealthServiceImpl health, ILogger<ShutdownCoordinator> log)
{
    /// <summary>How long streams cut at the end of the grace period get to analyse what they hold and send their summaries.</summary>
    public static readonly TimeSpan DrainAllowance = TimeSpan.FromSeconds(30);

    private Task? _running;

    /// <summary>Completes when every stream has ended and the watchers have been released.</summary>
    public Task Completion => _running ?? Task.CompletedTask;

    public void Begin()
    {
        foreach (var service in HealthStatuses.Services) health.SetStatus(service, HealthCheckResponse.Types.ServingStatus.NotServing);
        server.Streams.BeginDrain();
        _running ??= Task.Run(RunAsync);
    }

    private async Task RunAsync()
    {
        var grace = TimeSpan.FromSeconds(server.Options.Shutdown.GraceSeconds);
        var idle = server.Streams.WhenIdle;
        log.LogInformation("shutting down: {Open} stream(s) open, {Grace} s to finish", server.Streams.Open, grace.TotalSeconds);
        if (await Task.WhenAny(idle, Task.Delay(grace)).ConfigureAwait(false) != idle)
        {
            log.LogWarning("shutdown grace period over: cutting the input of {Open} stream(s)", server.Streams.Open);
            server.Streams.CutInput();
            await Task.WhenAny(idle, Task.Delay(DrainAllowance)).ConfigureAwait(false);
        }
        server.Hub.CloseWatchers();
        // A bus hub sends what its last sessions said (summaries, ends) before its connection closes.
        await server.Hub.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>The names grpc.health.v1 answers for: the whole server ("") and each of our services.</summary>
public static class HealthStatuses
{
    public static readonly string[] Services = ["", "wavfusion.v1.EmotionRecognizer", "wavfusion.v1.SessionMonitor"];
}
