using System.Globalization;
using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Server.Bus;

/// <summary>
/// What `wavfusion serve` does at start with NATS: a NATS server that answers and refuses the replica (a wrong password
/// here) is a configuration error, reported as one line naming bus.url (password hidden) and exit 1; NATS that cannot be
/// reached is an outage the replica rides out: it starts, says so, shows the bus down in /metrics and connects by itself
/// once NATS is there.
/// </summary>
public sealed class BusStartupProcessTests
{
    [SkippableFact]
    public async Task Serve_fails_fast_naming_bus_url_when_NATS_refuses_it_and_starts_with_the_bus_down_when_NATS_is_unreachable()
    {
        Skip.If(NatsServerProcess.Find() is null, NatsServerProcess.Missing);
        using var dir = new TempDir();
        int port = NatsServerProcess.FreePort();
        await using (var nats = await NatsServerProcess.StartWithAsync(port, jetStream: false, "--user", "replica", "--pass", "right-pass-123"))
        {
            File.WriteAllText(dir.File("refused.json"), $$"""{ "bus": { "kind": "nats", "url": "nats://replica:wrong-pass-456@127.0.0.1:{{port}}" } }""");
            var refused = ProcessRunner.Run("dotnet", [ProcessRunner.CliDll, "serve", "--listen", "127.0.0.1:0", "--config", dir.File("refused.json")],
                timeout: TimeSpan.FromMinutes(3));
            Console.WriteLine(refused.StdErr.Trim());
            Assert.Equal(1, refused.ExitCode);
            Assert.StartsWith($"error: {dir.File("refused.json")}: bus.url nats://replica:***@127.0.0.1:{port}: NATS refused this replica's credentials (authorization violation)",
                refused.StdErr.Trim(), StringComparison.Ordinal);
            Assert.Single(refused.StdErr.Trim().Split('\n'));
            Assert.DoesNotContain("wrong-pass-456", refused.All, StringComparison.Ordinal);
        }

        port = NatsServerProcess.FreePort();
        File.WriteAllText(dir.File("keys.json"), """{"keys":[{"name":"dashboard","key":"startup-watch-0123456789","rights":["watch"]}]}""");
        File.WriteAllText(dir.File("down.json"), $$"""
            {
              "metrics": { "listen": "127.0.0.1:0" },
              "shutdown": { "grace_seconds": 1 },
              "bus": { "kind": "nats", "url": "nats://127.0.0.1:{{port.ToString(CultureInfo.InvariantCulture)}}", "reconnect_seconds": 0.2 }
            }
            """);
        await using var serve = await ServeProcess.StartAsync(dir.File("keys.json"), dir.File("down.json"));
        Console.WriteLine(serve.Output);
        Assert.Contains($"bus: NATS nats://127.0.0.1:{port} as replica ", serve.Output, StringComparison.Ordinal);
        Assert.Contains("(not reachable yet: ", serve.Output, StringComparison.Ordinal);
        using var http = new HttpClient();
        Assert.Contains("wavfusion_bus_connected 0", await http.GetStringAsync(serve.MetricsUrl!), StringComparison.Ordinal);

        await using var late = await NatsServerProcess.StartWithAsync(port, jetStream: false);
        await StreamingRecognizeTests.WaitUntilAsync(() => http.GetStringAsync(serve.MetricsUrl!).Result.Contains("wavfusion_bus_connected 1", StringComparison.Ordinal), 60);
        serve.Terminate();
        Assert.Equal(0, await serve.WaitForExitAsync(TimeSpan.FromSeconds(60)));
    }
}
