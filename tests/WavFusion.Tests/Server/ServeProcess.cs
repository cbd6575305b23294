using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Server;

/// <summary>A `wavfusion serve` child process on a free loopback port; killed if the test leaves it running.</summary>
internal sealed partial class ServeProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServeProcess(Process process) => _process = process;

    public Uri Url { get; private set; } = null!;

    /// <summary>Where /metrics answers, when the config has metrics.listen.</summary>
    public Uri? MetricsUrl { get; private set; }

    /// <summary>The replica's name on the bus, when the config has bus.kind nats.</summary>
    public string? ReplicaId { get; private set; }

    public int Id => _process.Id;

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public static async Task<ServeProcess> StartAsync(string keys, string config)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoPaths.Root,
        };
        foreach (var a in new[] { ProcessRunner.CliDll, "serve", "--listen", "127.0.0.1:0", "--api-keys", keys, "--config", config }) psi.ArgumentList.Add(a);
        var server = new ServeProcess(Process.Start(psi)!);
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        // The model line comes after every address and bus line: the server is then fully up.
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(string? line)
        {
            if (line is null) return;
            lock (server._output) server._output.AppendLine(line);
            if (Listening().Match(line) is { Success: true } m) listening.TrySetResult(new Uri(m.Groups[1].Value));
            if (Metrics().Match(line) is { Success: true } metrics) server.MetricsUrl = new Uri(metrics.Groups[1].Value);
            if (Replica().Match(line) is { Success: true } replica) server.ReplicaId = replica.Groups[1].Value;
            if (line.StartsWith("model ", StringComparison.Ordinal)) ready.TrySetResult();
        }
        server._process.OutputDataReceived += (_, e) => OnLine(e.Data);
        server._process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();
        var exited = server._process.WaitForExitAsync();
        if (await Task.WhenAny(ready.Task, exited, Task.Delay(TimeSpan.FromSeconds(120))) != ready.Task || !listening.Task.IsCompleted)
        {
            await server.DisposeAsync();
            throw new InvalidOperationException($"serve did not start listening:\n{server.Output}");
        }
        server.Url = await listening.Task;
        return server;
    }

    /// <summary>SIGTERM, as a service manager stops a server.</summary>
    public void Terminate() => Signal("-TERM");

    /// <summary>SIGKILL: the process dies at once, saying nothing to anyone.</summary>
    public void Kill9() => Signal("-KILL");

    private void Signal(string signal)
    {
        var kill = ProcessRunner.Run("kill", [signal, _process.Id.ToString(CultureInfo.InvariantCulture)]);
        Assert.True(kill.ExitCode == 0, kill.All);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    [GeneratedRegex(@"listening on (http://127\.0\.0\.1:\d+)")]
    private static partial Regex Listening();

    [GeneratedRegex(@"metrics on (http://\S+/metrics)")]
    private static partial Regex Metrics();

    [GeneratedRegex(@"as replica (\S+?)(,|$| )")]
    private static partial Regex Replica();
}
