using System.CommandLine;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using WavFusion.Live.Asr;
using WavFusion.Live.Pipeline;
using WavFusion.Server;
using WavFusion.Server.Dashboard;
using WavFusion.Server.Hosting;
using WavFusion.Server.Security;
using WavFusion.Server.Sessions.Bus;

namespace WavFusion.Cli.Commands;

/// <summary>
/// `wavfusion serve`: the gRPC server on the live runtime. It handles SIGTERM and Ctrl+C itself (graceful shutdown
/// within the configured grace), so Program leaves termination to it.
/// </summary>
internal static class ServeCommand
{
    public const string Name = "serve";

    public static Command Create()
    {
        var listen = new Option<string>("--listen") { Description = "HOST:PORT to listen on (port 0: a free one)", DefaultValueFactory = _ => ListenAddress.Default };
        var apiKeys = new Option<FileInfo?>("--api-keys") { Description = "keys file {\"keys\":[{\"name\",\"key\",\"rights\":[\"push\",\"watch\"]}]}; without it the server is open, on loopback only" };
        var config = new Option<FileInfo?>("--config") { Description = "server configuration (limits, TLS, role policy, retention, shutdown); default config/server.json" };
        var liveConfig = new Option<FileInfo?>("--live-config") { Description = "live pipeline configuration; default config/live.json" };
        var model = new Option<DirectoryInfo?>("--model") { Description = "a model folder; default the bundled demo model" };
        var whisper = new Option<string?>("--whisper") { Description = "a Whisper model (Hugging Face folder or ggml file): the server transcribes streams without client transcripts" };
        var asr = new Option<string>("--asr") { Description = "recogniser for --whisper: torchsharp or whispernet", DefaultValueFactory = _ => "torchsharp" };
        asr.AcceptOnlyFromAmong([.. AsrBackends.Names]);
        var command = new Command(Name, "Serve the gRPC API: streams of call audio (and video, transcripts) in, emotion events out, sessions watched live")
        {
            listen, apiKeys, config, liveConfig, model, whisper, asr,
        };
        command.SetAction((parse, token) => RunAsync(parse.GetValue(listen)!, parse.GetValue(apiKeys)?.FullName, parse.GetValue(config)?.FullName,
            parse.GetValue(liveConfig)?.FullName, parse.GetValue(model)?.FullName, parse.GetValue(whisper), parse.GetValue(asr)!));
        return command;
    }

    private static async Task<int> RunAsync(string listenText, string? keysPath, string? configPath, string? liveConfigPath, string? modelFolder,
        string? whisper, string asr)
    {
        ListenAddress listen;
        try
        {
            listen = ListenAddress.Parse(listenText);
        }
        catch (FormatException e)
        {
            throw new OptionValueException("--listen", e.Message);
        }
        string configFile = configPath ?? ProductPaths.Config("server.json");
        var options = ServerOptions.Load(configFile);
        // While the model loads: NATS that refuses this replica (credentials, TLS) is a configuration error, reported
        // now; NATS that is down is an outage the replica rides out (streams served, bus events dropped and counted).
        var probe = options.Bus.IsNats ? NatsSessionHub.ProbeAsync(options.Bus, TimeSpan.FromSeconds(5)) : null;
        var keys = keysPath is null ? null : ApiKeySet.Load(keysPath);
        ServerHost.CheckExposure(listen, keys, options);
        var liveOptions = LiveOptions.Load(liveConfigPath ?? ProductPaths.Config("live.json"));
        var models = new LiveModels(
            modelFolder ?? Path.Combine(ProductPaths.Models, "wavfusion-demo"),
            Path.GetFullPath(liveOptions.Vad.Model, ProductPaths.Root),
            whisper,
            AsrBackends.Parse(asr));

        await using var runtime = LiveRuntime.Load(liveOptions, models, withFaces: true);
        var reached = probe is null ? null : await probe.ConfigureAwait(false);
        if (reached is { State: BusReachability.Refused })
            throw new InvalidDataException($"{configFile}: bus.url {options.Bus.RedactedUrl}: {reached.Reason}");
        await using var app = ServerHost.Build(new ServerSetup(runtime, options, keys, listen));
        await app.StartAsync().ConfigureAwait(false);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var dashboard = app.Services.GetService<DashboardSite>();
        var metrics = app.Services.GetService<MetricsEndpoint>();
        foreach (var address in addresses.Where(a => dashboard?.IsOwnAddress(a) != true && metrics?.IsOwnAddress(a) != true))
            Console.Error.WriteLine($"listening on {address}");
        if (dashboard?.Url is { } page) Console.Error.WriteLine($"dashboard on {page}");
        if (metrics?.Url is { } scrape) Console.Error.WriteLine($"metrics on {scrape}");
        var hub = app.Services.GetRequiredService<ServerContext>().Hub;
        if (hub is NatsSessionHub nats)
        {
            bool connected = await nats.WaitConnectedAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            Console.Error.WriteLine($"bus: NATS {options.Bus.RedactedUrl} as replica {nats.ReplicaId}"
                                    + (options.Bus.JetStream.Enabled ? $", events retained in JetStream stream {options.Bus.JetStream.Stream}" : "")
                                    + (connected ? "" : $" (not reachable yet{(reached?.Reason is { } why ? $": {why}" : "")}: streams are served, bus events dropped and counted until it is; wavfusion_bus_connected is 0 meanwhile)"));
        }
        Console.Error.WriteLine($"model {runtime.Bundle.Folder} (version {runtime.Bundle.ModelVersion}); "
                                + (keys is null ? "open (no API keys file), loopback only" : $"{keys.Count} API key(s)")
                                + (runtime.TranscribesAudio ? $"; whisper {whisper} ({asr})" : "; no server-side transcription (clients may send transcripts)")
                                + (runtime.AnalysesFaces ? "; faces analysed" : ""));
        if (runtime.Bundle.IsDemoModel)
            Console.Error.WriteLine("DEMO MODEL: trained on synthetic SynthEmo data only; its scores say nothing about real emotions");
        await app.WaitForShutdownAsync().ConfigureAwait(false);
        await app.Services.GetRequiredService<ShutdownCoordinator>().Completion.ConfigureAwait(false);
        Console.Error.WriteLine("stopped");
        return 0;
    }
}
