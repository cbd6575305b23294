using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Server.Bus;

/// <summary>
/// A real <c>nats-server</c> (Debian's package, installed by scripts/install-system-deps.sh) on a free loopback port,
/// with JetStream storing in a temporary folder. It can be stopped and started again on the same port and store, as an
/// outage would; disposing it kills it and deletes the store.
/// </summary>
public sealed class NatsServerProcess : IAsyncDisposable
{
    private readonly TempDir _store = new();
    private readonly StringBuilder _output = new();
    private Process? _process;

    private readonly IReadOnlyList<string> _extraArgs;

    private readonly bool _jetStream;

    private NatsServerProcess(string executable, int port, bool jetStream, IReadOnlyList<string> extraArgs)
    {
        Executable = executable;
        Port = port;
        _jetStream = jetStream;
        _extraArgs = extraArgs;
    }

    public string Executable { get; }

    public int Port { get; }

    public string Url => $"nats://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    /// <summary>Where nats-server is, or null (the tests that need it are skipped, saying so).</summary>
    public static string? Find()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/sbin").Append("/usr/local/sbin"))
        {
            if (dir.Length == 0) continue;
            var path = Path.Combine(dir, "nats-server");
            if (File.Exists(path)) return path;
        }
        return null;
    }

    public const string Missing = "nats-server is not installed (apt-get install nats-server; scripts/install-system-deps.sh does it)";

    /// <summary>Starts one with JetStream on a free port.</summary>
    public static Task<NatsServerProcess> StartAsync() => StartWithAsync(FreePort(), jetStream: true);

    /// <summary>
    /// Starts one on <paramref name="port"/>; <paramref name="extraArgs"/> go after the address and port (auth, TLS,
    /// -c FILE: a config file's own listen line must name the same port).
    /// </summary>
    public static async Task<NatsServerProcess> StartWithAsync(int port, bool jetStream, params string[] extraArgs)
    {
        var executable = Find() ?? throw new InvalidOperationException(Missing);
        var server = new NatsServerProcess(executable, port, jetStream, extraArgs);
        await server.StartAgainAsync();
        return server;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts it (again) on the same port and store, and waits until it accepts connections.</summary>
    public async Task StartAgainAsync()
    {
        if (_process is { HasExited: false }) throw new InvalidOperationException("nats-server is running");
        var psi = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var args = new List<string> { "-a", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture) };
        if (_jetStream) args.AddRange(["-js", "-sd", _store.Path]);
        foreach (var a in args.Concat(_extraArgs)) psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (_process.HasExited) throw new InvalidOperationException($"nats-server exited {_process.ExitCode}:\n{Output}");
            // JetStream is ready once the server says so; the port is open a moment before.
            if (Output.Contains("Server is ready", StringComparison.Ordinal)) return;
            await Task.Delay(50);
        }
        throw new TimeoutException($"nats-server did not start in 30 s:\n{Output}");
    }

    /// <summary>Kills it at once: clients see the connection drop, as in an outage.</summary>
    public async Task StopAsync()
    {
        if (_process is null || _process.HasExited) return;
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
        _store.Dispose();
    }
}
