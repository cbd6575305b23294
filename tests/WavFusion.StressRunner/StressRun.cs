using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using TorchSharp;
using Hammer = WavFusion.GcHammer.GcHammer;

namespace WavFusion.StressRunner;

/// <summary>
/// <c>WavFusion.StressRunner NAME...</c> (scenario or group names; <c>--list</c> lists them): runs each scenario
/// once quietly and once with the GC hammer, and compares the two recordings bit for bit.
/// With <c>--control</c> both passes run quietly (the scenario's own determinism).
/// Exit codes: 0 all bit-identical; 1 a scenario differed; 2 a scenario threw; 3 the hammer did not run; 64 bad arguments.
/// A finalised Scalar can also kill the process outright (SIGSEGV, SIGABRT): that is a failure too.
/// </summary>
public static class StressRun
{
    public const string IdenticalMarker = "bit-identical";
    public const string DiffersMarker = "DIFFERS";
    public const string ThrewMarker = "THREW";

    public static int Execute(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        if (args.Length == 0 || args.Contains("--list"))
        {
            foreach (var s in Scenarios.All) stdout.WriteLine($"{s.Name,-20} {s.Group,-10} {s.Description}");
            return args.Length == 0 ? 64 : 0;
        }
        var unknown = args.Where(a => a != "--control" && !Scenarios.All.Any(s => s.Name == a || s.Group == a)).ToArray();
        if (unknown.Length > 0)
        {
            stderr.WriteLine($"unknown scenario or group: {string.Join(", ", unknown)} (--list lists them)");
            return 64;
        }
        if (Environment.GetEnvironmentVariable("DOTNET_TieredCompilation") != "0")
            stderr.WriteLine("warning: DOTNET_TieredCompilation is not 0; tier-0 code keeps temporaries alive and hides finalised Scalars");
        if (Hammer.Running)
            stderr.WriteLine("note: the GC hammer was started by its startup hook; the quiet pass is hammered too");

        // One intra-op thread: both passes then split every reduction the same way, and each native call runs longer.
        torch.set_num_threads(1);
        int exit = 0;
        bool control = args.Contains("--control");
        foreach (var scenario in Scenarios.All.Where(s => args.Contains(s.Name) || args.Contains(s.Group)))
            exit = Math.Max(exit, Run(scenario, stdout, hammer: !control));
        return exit;
    }

    /// <param name="hammer">False for the control run: both passes quiet, which shows that the scenario itself is deterministic.</param>
    private static int Run(Scenario scenario, TextWriter stdout, bool hammer)
    {
        var clock = Stopwatch.StartNew();
        Recording quiet, hammered;
        long cycles;
        int quietCollections;
        try
        {
            (quiet, quietCollections) = RecordWithoutCollections(scenario);
        }
        catch (Exception e)
        {
            stdout.WriteLine($"{scenario.Name}: {ThrewMarker} without the hammer, so the scenario itself is broken: {e.GetType().Name}: {FirstLine(e.Message)}");
            return 2;
        }
        long before = Hammer.Cycles;
        bool ownHammer = hammer && !Hammer.Running;
        if (ownHammer) Hammer.Start();
        try
        {
            hammered = hammer ? Record(scenario) : RecordWithoutCollections(scenario).Recording;
        }
        catch (Exception e)
        {
            stdout.WriteLine($"{scenario.Name}: {ThrewMarker} under the GC hammer: {e.GetType().Name}: {FirstLine(e.Message)} (at {ManagedFrames(e)})");
            return 2;
        }
        finally
        {
            if (ownHammer) Hammer.Stop();
            cycles = Hammer.Cycles - before;
        }
        if (hammer && cycles == 0)
        {
            stdout.WriteLine($"{scenario.Name}: the GC hammer completed no collection during the hammered pass; nothing was tested");
            return 3;
        }
        string timing = string.Create(CultureInfo.InvariantCulture,
            $"{(quietCollections == 0 ? "no collection" : $"{quietCollections} collections")} during the quiet pass, " +
            $"{(hammer ? $"{cycles} during the hammered pass, " : "")}{clock.Elapsed.TotalSeconds:F1} s for both");
        if (Comparison.FirstDifference(quiet, hammered) is { } difference)
        {
            stdout.WriteLine($"{scenario.Name}: {DiffersMarker} {(hammer ? "under the GC hammer" : "between two quiet passes")}: {difference} ({timing})");
            return 1;
        }
        stdout.WriteLine($"{scenario.Name}: {quiet.Values} values in {quiet.Outputs.Count} outputs {IdenticalMarker} {(hammer ? "without and with the GC hammer" : "in two quiet passes (control)")} ({timing})");
        return 0;
    }

    /// <summary>
    /// The reference pass runs inside a no-GC region when the runtime grants one: without a collection no finalizer
    /// runs, so no Scalar can be freed early and the reference is right even in code that still makes implicit Scalars
    /// (where the allocations of an ordinary run already trigger the bug now and then).
    /// </summary>
    private static (Recording Recording, int Collections) RecordWithoutCollections(Scenario scenario)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        // Starting the region collects once; only collections after that count.
        bool region = GC.TryStartNoGCRegion(NoGcBudget);
        int before = GC.CollectionCount(0);
        try
        {
            return (Record(scenario), GC.CollectionCount(0) - before);
        }
        finally
        {
            if (region && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion) GC.EndNoGCRegion();
        }
    }

    /// <summary>Managed bytes the reference pass may allocate before the runtime collects anyway (reported in the result line).</summary>
    private const long NoGcBudget = 240L << 20;

    /// <summary>libtorch's messages go on with native frames, which name no product code.</summary>
    private static string FirstLine(string message) => message.Split('\n')[0].Trim();

    /// <summary>The managed frames below TorchSharp: which product call passed the finalised Scalar.</summary>
    private static string ManagedFrames(Exception e) => string.Join(" <- ", (e.StackTrace ?? "").Split('\n')
        .Select(l => l.Trim()).Where(l => l.StartsWith("at ", StringComparison.Ordinal) && !l.Contains("StressRun", StringComparison.Ordinal))
        .Select(l => l[3..(l.IndexOf(" in ", StringComparison.Ordinal) is > 0 and var end ? end : l.Length)]).Take(4));

    private static Recording Record(Scenario scenario)
    {
        var recording = new Recording();
        using (var scope = torch.NewDisposeScope())
            scenario.Run(recording);
        return recording;
    }
}
