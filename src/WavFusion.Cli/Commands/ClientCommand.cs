using System.CommandLine;
using Google.Protobuf;
using WavFusion.Api.V1;
using WavFusion.Client;

namespace WavFusion.Cli.Commands;

/// <summary>`wavfusion client stream|watch`: a file streamed to a server in real time, or a server's sessions watched; events as JSON lines.</summary>
internal static class ClientCommand
{
    public const string ApiKeyVariable = "WAVFUSION_API_KEY";
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(false));

    public static Command Create()
    {
        var command = new Command("client", "Talk to a `wavfusion serve`: stream a file, or watch sessions (events as JSON lines on stdout)");
        command.Subcommands.Add(Stream());
        command.Subcommands.Add(Watch());
        command.Subcommands.Add(Health());
        return command;
    }

    private static Option<string> Server() => new("--server") { Description = "the server's URL", DefaultValueFactory = _ => "http://127.0.0.1:50051" };

    private static Option<string?> ApiKey() => new("--api-key") { Description = $"the API key (x-api-key); default ${ApiKeyVariable}" };

    private static Command Stream()
    {
        var server = Server();
        var apiKey = ApiKey();
        var file = new Option<FileInfo>("--file") { Description = "audio (or video) file to stream, any format ffmpeg reads", Required = true };
        var video = new Option<FileInfo?>("--video") { Description = "a video file whose frames go with the audio as JPEG (often the same file)" };
        var channels = new Option<int>("--channels") { Description = "interleaved channels to send (ffmpeg mixes the file to this many)", DefaultValueFactory = _ => 1 };
        var roles = new Option<string?>("--roles") { Description = "each channel's role, comma-separated: customer, agent or other (e.g. customer,agent)" };
        var rate = new Option<int>("--rate") { Description = "sample rate the audio is sent at (the server resamples)", DefaultValueFactory = _ => 16_000 };
        var speed = new Option<double>("--speed") { Description = "pace at this multiple of real time; 0 sends as fast as the server takes it", DefaultValueFactory = _ => 1.0 };
        var label = new Option<string>("--label") { Description = "the session's label for watchers", DefaultValueFactory = _ => "" };
        var interim = new Option<bool>("--interim") { Description = "ask for interim results too" };
        var command = new Command("stream", "Stream a file to the server in real time and print its events as JSON lines")
        {
            server, apiKey, file, video, channels, roles, rate, speed, label, interim,
        };
        command.SetAction(async (parse, token) =>
        {
            int n = parse.GetValue(channels);
            if (n is < 1 or > 8) throw new OptionValueException("--channels", $"{n} is not between 1 and 8");
            int hz = parse.GetValue(rate);
            if (hz is < 1000 or > 384_000) throw new OptionValueException("--rate", $"{hz} is not between 1000 and 384000");
            double pace = parse.GetValue(speed);
            if (!double.IsFinite(pace) || pace < 0) throw new OptionValueException("--speed", $"{pace} is not 0 or a positive multiple of real time");
            var options = new MediaFeedOptions
            {
                Channels = n,
                Roles = ParseRoles(parse.GetValue(roles), n),
                SampleRate = hz,
                Speed = pace,
                Video = parse.GetValue(video)?.FullName,
                Label = parse.GetValue(label)!,
                InterimResults = parse.GetValue(interim),
            };
            string path = parse.GetValue(file)!.FullName;
            using var client = Connect(parse.GetValue(server)!, parse.GetValue(apiKey));
            await foreach (var e in client.StreamAsync(options.Config(), MediaFeed.FromFile(path, options, token), token).ConfigureAwait(false))
            {
                await Console.Out.WriteLineAsync(Json.Format(e)).ConfigureAwait(false);
                await Console.Out.FlushAsync(token).ConfigureAwait(false);
            }
            return 0;
        });
        return command;
    }

    private static Command Watch()
    {
        var server = Server();
        var apiKey = ApiKey();
        var session = new Option<string?>("--session") { Description = "the session to watch; default all sessions" };
        var replay = new Option<uint>("--replay") { Description = "first replay the retained events of the last S seconds (servers on a bus with JetStream retention)" };
        var command = new Command("watch", "Watch one session or all of them and print their events as JSON lines") { server, apiKey, session, replay };
        command.SetAction(async (parse, token) =>
        {
            using var client = Connect(parse.GetValue(server)!, parse.GetValue(apiKey));
            await foreach (var e in client.WatchAsync(parse.GetValue(session), TimeSpan.FromSeconds(parse.GetValue(replay)), token).ConfigureAwait(false))
            {
                await Console.Out.WriteLineAsync(Json.Format(e)).ConfigureAwait(false);
                await Console.Out.FlushAsync(token).ConfigureAwait(false);
            }
            return 0;
        });
        return command;
    }

    /// <summary>
    /// grpc.health.v1 Check, for container health checks: exit 0 and SERVING when the server serves, 1 otherwise (not
    /// serving, shutting down, unreachable within --timeout).
    /// </summary>
    private static Command Health()
    {
        var server = Server();
        var service = new Option<string>("--service") { Description = "the service to check (\"\" the whole server, wavfusion.v1.EmotionRecognizer, wavfusion.v1.SessionMonitor)", DefaultValueFactory = _ => "" };
        var timeout = new Option<double>("--timeout") { Description = "seconds to wait for the answer", DefaultValueFactory = _ => 5 };
        var command = new Command("health", "Check the server's grpc.health.v1 status (exit 0 when SERVING)") { server, service, timeout };
        command.SetAction(async (parse, token) =>
        {
            double seconds = parse.GetValue(timeout);
            if (!(seconds > 0)) throw new OptionValueException("--timeout", $"{seconds} is not a positive number of seconds");
            using var client = Connect(parse.GetValue(server)!, null);
            using var within = CancellationTokenSource.CreateLinkedTokenSource(token);
            within.CancelAfter(TimeSpan.FromSeconds(seconds));
            var status = await client.HealthAsync(parse.GetValue(service)!, within.Token).ConfigureAwait(false);
            Console.WriteLine(status switch
            {
                Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving => "SERVING",
                Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.NotServing => "NOT_SERVING",
                Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.ServiceUnknown => "SERVICE_UNKNOWN",
                _ => "UNKNOWN",
            });
            return status == Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving ? 0 : 1;
        });
        return command;
    }

    private static WavFusionClient Connect(string server, string? apiKey)
    {
        if (!Uri.TryCreate(server, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new OptionValueException("--server", $"'{server}' is not an http:// or https:// URL");
        return new WavFusionClient(uri, apiKey ?? Environment.GetEnvironmentVariable(ApiKeyVariable));
    }

    private static List<ChannelRole.Types.Role> ParseRoles(string? text, int channels)
    {
        if (string.IsNullOrWhiteSpace(text)) return [];
        var roles = text.Split(',', StringSplitOptions.TrimEntries).Select(r => r.ToLowerInvariant() switch
        {
            "customer" => ChannelRole.Types.Role.Customer,
            "agent" => ChannelRole.Types.Role.Agent,
            "other" => ChannelRole.Types.Role.Other,
            _ => throw new OptionValueException("--roles", $"'{r}' is not customer, agent or other"),
        }).ToList();
        if (roles.Count != channels) throw new OptionValueException("--roles", $"{roles.Count} role(s) for {channels} channel(s)");
        return roles;
    }
}
