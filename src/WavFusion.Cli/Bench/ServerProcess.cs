using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace WavFusion.Cli.Bench;

/// <summary>
/// A real `wavfusion serve` child process, so a benchmark (or an end-to-end test) measures the server as it is deployed:
/// its own process, sockets and HTTP/2. Its addresses come from the lines serve prints on stderr ("listening on URL",
/// "dashboard on URL"); it is ready once it has printed its model line. Stopped with SIGTERM (graceful shutdown), and
/// killed if that does not end it.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log = new();
    private readonly List<Uri> _listening = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServerProcess(Process process) => _process = process;

    public int Id => _process.Id;

    /// <summary>The gRPC endpoint (the first address serve listens on; the dashboard's own port is printed apart).</summary>
    public Uri GrpcUrl { get; private set; } = null!;

    /// <summary>The dashboard's page, when serve has one.</summary>
    public Uri? DashboardUrl { get; private set; }

    /// <summary>What serve has printed on stderr so far.</summary>
    public string Log
    {
        get
        {
            lock (_log) return _log.ToString();
        }
    }

    /// <summary>How to run this very CLI again: its apphost, or `dotnet wavfusion.dll` when it runs through dotnet.</summary>
    public static (string FileName, string[] Prefix) ThisCli()
    {
        string host = Environment.ProcessPath ?? throw new InvalidOperationException("cannot tell which executable runs this process");
        string dll = Path.Combine(AppContext.BaseDirectory, "wavfusion.dll");
        return Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase) ? (host, [dll]) : (host, []);
    }

    /// <summary>Starts <c>FILE PREFIX... serve ARGS...</c> and waits until it is ready; its error output explains a failed start.</summary>
    public static async Task<ServerProcess> StartAsync(string fileName, IEnumerable<string> prefix, IEnumerable<string> serveArgs, TimeSpan timeout,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in prefix.Append("serve").Concat(serveArgs)) psi.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException($"{fileName}: serve did not start");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"{fileName}: cannot start serve: {e.Message}", e);
        }
        var server = new ServerProcess(process);
        process.ErrorDataReceived += (_, e) => server.OnLine(e.Data);
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var exited = process.WaitForExitAsync();
        var done = await Task.WhenAny(server._ready.Task, exited, Task.Delay(timeout)).ConfigureAwait(false);
        if (done != server._ready.Task)
        {
            string why = done == exited ? $"exited with code {process.ExitCode}" : $"was not ready within {timeout.TotalSeconds:F0} s";
            string log = server.Log.Trim();
            await server.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException($"wavfusion serve {why}: {log}");
        }
        return server;
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        lock (_log) _log.AppendLine(line);
        const string listening = "listening on ", dashboard = "dashboard on ";
        if (line.StartsWith(listening, StringComparison.Ordinal) && Uri.TryCreate(line[listening.Length..].Trim(), UriKind.Absolute, out var url))
            _listening.Add(url);
        else if (line.StartsWith(dashboard, StringComparison.Ordinal) && Uri.TryCreate(line[dashboard.Length..].Trim(), UriKind.Absolute, out var page))
            DashboardUrl = page;
        else if (line.StartsWith("model ", StringComparison.Ordinal))
        {
            // serve prints its addresses first (the gRPC ones as "listening on"), then the model line.
            var grpc = _listening.FirstOrDefault();
            if (grpc is null)
            {
                _ready.TrySetException(new InvalidOperationException($"wavfusion serve printed no gRPC address: {Log}"));
                return;
            }
            GrpcUrl = grpc;
            _ready.TrySetResult();
        }
    }

    /// <summary>SIGTERM, then up to <paramref name="grace"/> for the graceful shutdown; killed after that.</summary>
    public async Task<int> StopAsync(TimeSpan grace)
    {
        if (_process.HasExited) return _process.ExitCode;
        if (OperatingSystem.IsWindows())
        {
            _process.Kill(entireProcessTree: true);
        }
        else
        {
            using var term = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false });
            if (term is not null) await term.WaitForExitAsync().ConfigureAwait(false);
        }
        using var wait = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync(TimeSpan.FromSeconds(15)).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // It had already gone.
        }
        _process.Dispose();
    }
}
