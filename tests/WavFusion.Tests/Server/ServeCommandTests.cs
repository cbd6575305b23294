using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Server;

/// <summary>`wavfusion serve` and `wavfusion client` refuse what cannot work with one error line, before loading a model or connecting.</summary>
public sealed class ServeCommandTests
{
    private static void AssertOneLineError(ProcessResult r, int exitCode, string expected)
    {
        Assert.True(r.ExitCode == exitCode, $"exit {r.ExitCode}, expected {exitCode}: {r.All}");
        var lines = r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"stderr is not one line: {r.StdErr}");
        Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Serve_refuses_an_open_server_off_loopback_a_bad_address_and_a_bad_keys_file()
    {
        AssertOneLineError(ProcessRunner.Cli("serve", "--listen", "0.0.0.0:50051"), 1, "--listen 0.0.0.0:50051: without an API keys file (--api-keys) the server listens on loopback only");
        AssertOneLineError(ProcessRunner.Cli("serve", "--listen", "50051"), 2, "--listen: '50051' is not HOST:PORT");
        using var dir = new TempDir();
        File.WriteAllText(dir.File("keys.json"), """{"keys":[{"name":"ops","key":"short","rights":["push"]}]}""");
        AssertOneLineError(ProcessRunner.Cli("serve", "--api-keys", dir.File("keys.json")), 1, "key 'ops': the key must have at least 16 characters");
    }

    [Fact]
    public void Client_stream_refuses_bad_channels_and_roles()
    {
        string jfk = Path.Combine(RepoPaths.Samples, "jfk.flac");
        AssertOneLineError(ProcessRunner.Cli("client", "stream", "--file", jfk, "--channels", "9"), 2, "--channels: 9 is not between 1 and 8");
        AssertOneLineError(ProcessRunner.Cli("client", "stream", "--file", jfk, "--channels", "2", "--roles", "customer"), 2, "--roles: 1 role(s) for 2 channel(s)");
        AssertOneLineError(ProcessRunner.Cli("client", "stream", "--file", jfk, "--roles", "boss"), 2, "--roles: 'boss' is not customer, agent or other");
        AssertOneLineError(ProcessRunner.Cli("client", "watch", "--server", "ftp://x"), 2, "--server: 'ftp://x' is not an http:// or https:// URL");
    }
}
