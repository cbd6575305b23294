using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Cli;

/// <summary>
/// TorchSharp's native glue needs a libstdc++ newer than Debian 12's; the build deploys a patched copy
/// (Directory.Build.targets). These tests prove libtorch loads in the built CLI and in a published app.
/// </summary>
public sealed class TorchSharpDeploymentTests
{
    [Fact]
    public void Built_cli_runs_libtorch()
    {
        var r = ProcessRunner.Cli("info");
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains("libtorch        2.10", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void Published_cli_runs_libtorch()
    {
        using var dir = new TempDir();
        var publish = ProcessRunner.Run("dotnet",
            ["publish", Path.Combine(RepoPaths.Root, "src", "WavFusion.Cli", "WavFusion.Cli.csproj"), "-c", ProcessRunner.Configuration, "--no-build", "-o", dir.Path, "--nologo", "-v", "q"],
            timeout: TimeSpan.FromMinutes(4));
        Assert.True(publish.ExitCode == 0, publish.All);
        string exe = Path.Combine(dir.Path, "wavfusion");
        Assert.True(File.Exists(exe), $"no apphost at {exe}");
        // train/evaluate render their PNGs with ScottPlot, whose SkiaSharp/HarfBuzz natives must travel with the app.
        foreach (var native in new[] { "libSkiaSharp.so", "libHarfBuzzSharp.so" })
            Assert.True(File.Exists(Path.Combine(dir.Path, "runtimes", "linux-x64", "native", native)), $"{native} is not in the published app");
        var r = ProcessRunner.Run(exe, ["info"], workingDirectory: dir.Path);
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains("libtorch        2.10", r.StdOut, StringComparison.Ordinal);
    }
}
