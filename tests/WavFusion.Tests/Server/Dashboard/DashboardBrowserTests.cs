using System.Diagnostics;
using System.Globalization;
using WavFusion.Cli.Bench;
using WavFusion.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WavFusion.Tests.Server.Dashboard;

/// <summary>
/// The dashboard as a person sees it: a real `wavfusion serve` process with a keys file, Debian's chromium headless
/// driven by playwright-core (tests/dashboard/dashboard.test.mjs, no browser download), and a real client streaming
/// samples/jfk.flac in real time once the page is connected. The script checks the key handling, that the session
/// appears, that its chart gains interim and final points, the tiles, and that the session ends live.
/// </summary>
public sealed class DashboardBrowserTests(ITestOutputHelper output)
{
    private const string PushKey = "browser-push-0123456789";
    private const string WatchKey = "browser-watch-0123456789";
    private const string Label = "browser test call";

    private static string TestFolder => Path.Combine(RepoPaths.Root, "tests", "dashboard");

    [SkippableFact]
    public async Task Headless_chromium_sees_a_real_stream_appear_chart_its_emotions_and_end()
    {
        string? chromium = FindChromium();
        Skip.If(chromium is null, "no chromium (apt-get install chromium, or set WAVFUSION_CHROMIUM): the dashboard's browser test cannot run");
        Skip.If(!Tools.Has("node") || !Tools.Has("npm"), "no node/npm on PATH: the dashboard's browser test (playwright-core) cannot run");
        int major = NodeMajorVersion();
        Skip.If(major < 20, $"node {major} is older than playwright-core needs (20)");
        EnsurePlaywright();

        using var dir = new TempDir();
        File.WriteAllText(dir.File("keys.json"), $$"""
            {"keys":[{"name":"pusher","key":"{{PushKey}}","rights":["push"]},{"name":"dashboard","key":"{{WatchKey}}","rights":["watch"]}]}
            """);
        await using var server = await ServerProcess.StartAsync("dotnet", [ProcessRunner.CliDll],
            ["--listen", "127.0.0.1:0", "--api-keys", dir.File("keys.json")], TimeSpan.FromMinutes(2));
        Assert.True(server.DashboardUrl is not null, $"serve printed no dashboard address: {server.Log}");
        output.WriteLine($"gRPC {server.GrpcUrl}, dashboard {server.DashboardUrl}");

        var browser = new ProcessStartInfo("node", ["dashboard.test.mjs"])
        {
            WorkingDirectory = TestFolder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        browser.Environment["DASHBOARD_URL"] = server.DashboardUrl!.ToString();
        browser.Environment["WATCH_KEY"] = WatchKey;
        browser.Environment["PUSH_KEY"] = PushKey;
        browser.Environment["SESSION_LABEL"] = Label;
        browser.Environment["CHROMIUM"] = chromium;
        browser.Environment["STEP_TIMEOUT_MS"] = "90000";
        if (Environment.GetEnvironmentVariable("WAVFUSION_DASHBOARD_SCREENSHOT") is { Length: > 0 } shot) browser.Environment["SCREENSHOT"] = shot;

        using var node = Process.Start(browser)!;
        Process? client = null;
        var lines = new List<string>();
        var errors = node.StandardError.ReadToEndAsync();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            while (await node.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                lines.Add(line);
                output.WriteLine($"browser: {line}");
                // The page is connected and watching the list: now the call starts, so the page sees it from its first event.
                if (line == "ready") client = StartClient(server.GrpcUrl);
            }
            await node.WaitForExitAsync(timeout.Token);
            string stderr = await errors;
            if (stderr.Length > 0) output.WriteLine($"browser stderr: {stderr}");
            Assert.True(node.ExitCode == 0, $"the browser test failed (exit {node.ExitCode}): {string.Join(" | ", lines.Where(l => l.StartsWith("FAIL", StringComparison.Ordinal)))} {stderr}");
            Assert.Contains(lines, l => l.StartsWith("ok ", StringComparison.Ordinal));
            Assert.NotNull(client);
            Assert.True(await WaitAsync(client, TimeSpan.FromMinutes(1)), "the streaming client did not finish");
            string clientErrors = await client.StandardError.ReadToEndAsync();
            Assert.True(client.ExitCode == 0, $"the streaming client failed: {clientErrors}");
        }
        finally
        {
            if (!node.HasExited) node.Kill(entireProcessTree: true);
            if (client is { HasExited: false }) client.Kill(entireProcessTree: true);
            client?.Dispose();
        }
    }

    private static Process StartClient(Uri grpc)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = RepoPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { ProcessRunner.CliDll, "client", "stream", "--server", grpc.ToString(), "--api-key", PushKey,
                     "--file", Path.Combine(RepoPaths.Samples, "jfk.flac"), "--label", Label, "--interim" })
            psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        // Its events go to stdout; drained so a full pipe never stalls it.
        _ = process.StandardOutput.ReadToEndAsync();
        return process;
    }

    private static async Task<bool> WaitAsync(Process process, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>$WAVFUSION_CHROMIUM, or Debian's (and Ubuntu's) chromium.</summary>
    private static string? FindChromium()
    {
        if (Environment.GetEnvironmentVariable("WAVFUSION_CHROMIUM") is { Length: > 0 } chosen) return File.Exists(chosen) ? chosen : null;
        return new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);
    }

    private static int NodeMajorVersion()
    {
        var r = ProcessRunner.Run("node", ["--version"], timeout: TimeSpan.FromSeconds(30));
        string v = r.StdOut.Trim().TrimStart('v');
        return int.TryParse(v.Split('.')[0], NumberStyles.None, CultureInfo.InvariantCulture, out int major) ? major : 0;
    }

    /// <summary>playwright-core from tests/dashboard/package-lock.json (npm ci) when it is not installed yet.</summary>
    private void EnsurePlaywright()
    {
        if (File.Exists(Path.Combine(TestFolder, "node_modules", "playwright-core", "package.json"))) return;
        var r = ProcessRunner.Run("npm", ["ci", "--no-audit", "--no-fund"], TestFolder, TimeSpan.FromMinutes(5));
        output.WriteLine($"npm ci: {r.All.Trim()}");
        Assert.True(r.ExitCode == 0, $"npm ci in tests/dashboard failed: {r.All}");
    }
}
