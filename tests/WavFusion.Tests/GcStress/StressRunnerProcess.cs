using System.Diagnostics;
using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.GcStress;

/// <summary>Starts the stress runner or the CLI as a child process under the settings that expose finalised Scalars.</summary>
internal static class StressRunnerProcess
{
    public static string RunnerDll => Path.Combine(RepoPaths.Root, "tests", "WavFusion.StressRunner", "bin", ProcessRunner.Configuration, "net10.0", "WavFusion.StressRunner.dll");

    /// <summary>The startup hook's assembly, deployed beside the runner that references it.</summary>
    public static string HammerDll => Path.Combine(Path.GetDirectoryName(RunnerDll)!, "WavFusion.GcHammer.dll");

    /// <summary>
    /// Optimised code from the first call: tier-0 code keeps every local alive to the end of its method, which hides the
    /// bug. Measured on 2 cores: with DOTNET_TieredCompilation=0 alone the canary fails every run, so the quick-JIT and
    /// ReadyToRun switches are left at their defaults.
    /// </summary>
    private static readonly Dictionary<string, string> Optimised = new() { ["DOTNET_TieredCompilation"] = "0" };

    public static ProcessResult Runner(params string[] args) => Run(RunnerDll, args, Optimised);

    public static ProcessResult Cli(bool hammer, params string[] args)
    {
        var environment = new Dictionary<string, string>(Optimised);
        if (hammer) environment["DOTNET_STARTUP_HOOKS"] = HammerDll;
        return Run(ProcessRunner.CliDll, args, environment);
    }

    private static ProcessResult Run(string dll, string[] args, IReadOnlyDictionary<string, string> environment)
    {
        Assert.True(File.Exists(dll), $"{dll} is missing; build the solution (dotnet build WavFusion.Live.sln -c {ProcessRunner.Configuration})");
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoPaths.Root,
        };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (key, value) in environment) psi.Environment[key] = value;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {dll}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        var limit = TimeSpan.FromMinutes(2);
        if (!p.WaitForExit(limit))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{dll} {string.Join(' ', args)} did not finish in {limit}");
        }
        return new ProcessResult(p.ExitCode, stdout.Result, stderr.Result);
    }
}
