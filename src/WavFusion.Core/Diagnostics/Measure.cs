using System.Diagnostics;

namespace WavFusion.Core.Diagnostics;

/// <summary>Timing summary of repeated runs, in seconds.</summary>
public sealed record Timing(double Median, double Mean, double Min, double Max, int Runs)
{
    public override string ToString() => $"median {Median * 1000:F1} ms (min {Min * 1000:F1}, max {Max * 1000:F1}, n={Runs})";
}

public static class Measure
{
    /// <summary>Runs <paramref name="action"/> <paramref name="warmup"/> times untimed, then times it until both
    /// <paramref name="minRuns"/> runs and <paramref name="minSeconds"/> have passed (capped at <paramref name="maxRuns"/>).</summary>
    public static Timing Time(Action action, int warmup = 2, int minRuns = 5, double minSeconds = 2.0, int maxRuns = 200)
    {
        ArgumentNullException.ThrowIfNull(action);
        for (int i = 0; i < warmup; i++) action();
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (times.Count < maxRuns && (times.Count < minRuns || total.Elapsed.TotalSeconds < minSeconds))
        {
            long start = Stopwatch.GetTimestamp();
            action();
            times.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return Summarise(times);
    }

    /// <summary>
    /// Times two actions alternately (a, b, a, b, ...) so that whatever else the machine does affects both
    /// alike; for side-by-side ratios on a shared machine.
    /// </summary>
    public static (Timing A, Timing B) Interleaved(Action a, Action b, int warmup = 1, int minRuns = 5, double minSeconds = 4.0, int maxRuns = 200)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        for (int i = 0; i < warmup; i++)
        {
            a();
            b();
        }
        var ta = new List<double>();
        var tb = new List<double>();
        var total = Stopwatch.StartNew();
        while (ta.Count < maxRuns && (ta.Count < minRuns || total.Elapsed.TotalSeconds < minSeconds))
        {
            long start = Stopwatch.GetTimestamp();
            a();
            ta.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
            start = Stopwatch.GetTimestamp();
            b();
            tb.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return (Summarise(ta), Summarise(tb));
    }

    private static Timing Summarise(List<double> times)
    {
        times.Sort();
        double median = times.Count % 2 == 1 ? times[times.Count / 2] : (times[times.Count / 2 - 1] + times[times.Count / 2]) / 2;
        return new Timing(median, times.Average(), times[0], times[^1], times.Count);
    }
}

/// <summary>Resident memory of this process as the kernel reports it (Linux /proc; 0 elsewhere).</summary>
public static partial class ProcessMemory
{
    /// <summary>
    /// glibc malloc's own account (mallinfo2, over every arena): bytes handed out and not yet freed (heap and mmapped
    /// blocks), and freed bytes it keeps for reuse. RSS alone cannot tell a leak from memory the allocator retains on
    /// purpose (NativeMemoryPolicy keeps freed memory; each thread arena keeps its own peak). Null off glibc.
    /// </summary>
    public static (long InUse, long FreeKept)? MallocBytes()
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            var info = MallInfo2();
            return ((long)(info.Uordblks + info.Hblkhd), (long)info.Fordblks);
        }
        catch (EntryPointNotFoundException)
        {
            return null;
        }
        catch (DllNotFoundException)
        {
            return null;
        }
    }

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct MallInfo2Result
    {
        public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost;
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "mallinfo2")]
    private static partial MallInfo2Result MallInfo2();

    public static long CurrentRssBytes() => ReadStatusKb("VmRSS:") * 1024;

    public static long PeakRssBytes() => ReadStatusKb("VmHWM:") * 1024;

    /// <summary>
    /// Memory the .NET garbage collector has committed for the managed heap, as of the last collection
    /// (collect first for a current figure).
    /// </summary>
    public static long ManagedCommittedBytes() => GC.GetGCMemoryInfo().TotalCommittedBytes;

    /// <summary>
    /// Resident memory outside the managed heap: RSS minus what the GC has committed. The managed heap
    /// grows in steps until the GC settles on a budget, which moves RSS without any native leak.
    /// </summary>
    public static long NativeResidentBytes() => Math.Max(0, CurrentRssBytes() - ManagedCommittedBytes());

    private static long ReadStatusKb(string field)
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status)) return 0;
        foreach (var line in File.ReadLines(status))
        {
            if (!line.StartsWith(field, StringComparison.Ordinal)) continue;
            var parts = line[field.Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        return 0;
    }
}
