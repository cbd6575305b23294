using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace WavFusion.Cli.Bench;

/// <summary>
/// A real <c>nats-server</c> child process on a free loopback port for the benchmarks that measure the bus (`bench bus`,
/// `bench grpc --bus nats`), so their numbers include NATS's own sockets and routing; with JetStream when asked, storing
/// in a temporary folder. Disposing it kills it and deletes the folder.
/// </summary>
internal sealed class NatsServerRunner : IAsyncDisposable
{
    public const string Missing = "nats-server: not found (apt-get install nats-server; scripts/install-system-deps.sh installs it)";

    private readonly Process _process;
    private readonly string? _store;

    private NatsServerRunner(Process process, string? store, string url)
    {
        _process = process;
        _store = store;
        Url = url;
    }

    public string Url { get; }

    public int Id => _process.Id;

    /// <summary>The JetStream store folder, when JetStream is on.</summary>
    public string? Store => _store;

    /// <summary>Where nats-server is (Debian puts it in /usr/sbin, often not on a user's PATH), or null.</summary>
    public static string? Find() =>
        new[] { "/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin" }
            .Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            .Select(d => Path.Combine(d, "nats-server")).FirstOrDefault(File.Exists);

    /// <summary>Starts nats-server on 127.0.0.1 and a free port and waits until it says it is ready (20 s at most).</summary>
    public static async Task<NatsServerRunner> StartAsync(bool jetStream)
    {
        string executable = Find() ?? throw new FileNotFoundException(Missing);
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        string? store = jetStream ? Directory.CreateTempSubdirectory("wavfusion-bench-nats-").FullName : null;
        var psi = new ProcessStartInfo(executable) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-a", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture) }) psi.ArgumentList.Add(arg);
        if (store is not null)
            foreach (var arg in new[] { "-js", "-sd", store }) psi.ArgumentList.Add(arg);
        var process = Process.Start(psi) ?? throw new IOException($"{executable}: cannot start");
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.ErrorDataReceived += (_, e) => { if (e.Data?.Contains("Server is ready", StringComparison.Ordinal) == true) ready.TrySetResult(); };
        process.OutputDataReceived += (_, e) => { if (e.Data?.Contains("Server is ready", StringComparison.Ordinal) == true) ready.TrySetResult(); };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var runner = new NatsServerRunner(process, store, $"nats://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        if (await Task.WhenAny(ready.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(20))).ConfigureAwait(false) != ready.Task)
        {
            await runner.DisposeAsync().ConfigureAwait(false);
            throw new IOException($"{executable}: did not start on 127.0.0.1:{port}");
        }
        return runner;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
        _process.Dispose();
        if (_store is not null)
        {
            try { Directory.Delete(_store, recursive: true); }
            catch (IOException) { }
        }
    }
}
