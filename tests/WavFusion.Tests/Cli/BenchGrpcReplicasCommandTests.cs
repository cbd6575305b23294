using System.Globalization;
using System.Text.RegularExpressions;
using WavFusion.Tests.Infrastructure;
using WavFusion.Tests.Server.Bus;
using Xunit.Abstractions;

namespace WavFusion.Tests.Cli;

/// <summary>
/// `wavfusion bench grpc --replicas 2 --bus nats --quick`: a real nats-server, two real serve processes on it and one
/// with the in-process hub, real clients; its lines parse, events crossed the bus, and every watcher saw every event.
/// Timings are printed, never bounded.
/// </summary>
public sealed partial class BenchGrpcReplicasCommandTests(ITestOutputHelper output)
{
    private const string Number = @"(-?[0-9]+\.[0-9]+)";

    [GeneratedRegex(@"^replica (bench-\d): wavfusion serve, pid \d+, http://127\.0\.0\.1:\d+/; bus: NATS nats://127\.0\.0\.1:\d+ as replica (bench-\d)$", RegexOptions.Multiline)]
    private static partial Regex ReplicaLine();

    [GeneratedRegex(@"^event latency .*: in process p50 " + Number + " ms p95 " + Number + @" ms \((\d+) events\); over the bus \(watcher on another replica\) p50 " + Number + " ms p95 " + Number + @" ms \((\d+) events\);", RegexOptions.Multiline)]
    private static partial Regex LatencyLine();

    [GeneratedRegex(@"^added by the bus: p50 ([+-][0-9.]+) ms, p95 ([+-][0-9.]+) ms \(target p95 < 5 ms on loopback: (met|not met)\)$", RegexOptions.Multiline)]
    private static partial Regex AddedLine();

    [GeneratedRegex(@"^watchers: (\d+) watching all sessions \((\d+) on bench-1, (\d+) on bench-2\) while (\d+) stream\(s\) run: (\d+) events/s delivered through the bus \(of (\d+) events/s delivered in all\), (\d+) of (\d+) events through the bus, lost (\d+), watchers that saw every event (\d+)/(\d+)$", RegexOptions.Multiline)]
    private static partial Regex WatchersLine();

    [GeneratedRegex(@"^producer (without watchers|with 20 watchers): completion ([0-9.]+) s, .*drops (\d+) \(1 run\(s\) of 2 stream\(s\)\)$", RegexOptions.Multiline)]
    private static partial Regex ProducerLine();

    [GeneratedRegex(@"^producer slowdown: completion ([+-][0-9.]+) %, interim p95 latency ([+-][0-9.]+) % \(target <= 5 %: (met|not met)\)$", RegexOptions.Multiline)]
    private static partial Regex SlowdownLine();

    [SkippableFact]
    public void Bench_grpc_replicas_quick_runs_two_replicas_on_NATS_and_prints_lines_that_parse()
    {
        Skip.If(NatsServerProcess.Find() is null, NatsServerProcess.Missing);
        var r = ProcessRunner.Cli("bench", "grpc", "--replicas", "2", "--bus", "nats", "--quick");
        output.WriteLine(r.All);
        Assert.True(r.ExitCode == 0, r.All);
        Assert.StartsWith("bench grpc: ", r.StdOut, StringComparison.Ordinal);

        var replicas = ReplicaLine().Matches(r.StdOut);
        Assert.Equal(["bench-1", "bench-2"], replicas.Select(m => m.Groups[1].Value));
        Assert.All(replicas, m => Assert.Equal(m.Groups[1].Value, m.Groups[2].Value));
        // Both connected to NATS at start (serve says "not reachable yet" otherwise).
        Assert.DoesNotContain("not reachable", r.StdOut, StringComparison.Ordinal);

        var latency = LatencyLine().Match(r.StdOut);
        Assert.True(latency.Success, r.StdOut);
        // Every event of the quick run's two streams was timed on both sides: in process, and through the bus.
        Assert.True(Int(latency, 3) > 0 && Int(latency, 6) > 0, latency.Value);
        Assert.True(Double(latency, 1) <= Double(latency, 2) && Double(latency, 4) <= Double(latency, 5), "p50 <= p95: " + latency.Value);
        var added = AddedLine().Match(r.StdOut);
        Assert.True(added.Success, r.StdOut);
        // The added figures are the differences of the printed percentiles (to the printed rounding).
        Assert.InRange(Double(added, 2) - (Double(latency, 5) - Double(latency, 2)), -0.02, 0.02);

        var watchers = WatchersLine().Match(r.StdOut);
        Assert.True(watchers.Success, r.StdOut);
        Assert.Equal(20, Int(watchers, 1));
        Assert.Equal((10, 10), (Int(watchers, 2), Int(watchers, 3)));
        Assert.Equal(2, Int(watchers, 4));
        long crossed = Int(watchers, 7), all = Int(watchers, 8);
        // One stream per replica: each watcher gets the other replica's stream through the bus, half of what it gets.
        Assert.True(crossed > 0 && crossed < all, watchers.Value);
        Assert.Equal(all, 2 * crossed);
        Assert.True(Int(watchers, 5) > 0 && Int(watchers, 5) <= Int(watchers, 6), watchers.Value);
        Assert.Equal(0, Int(watchers, 9));
        Assert.Equal(20, Int(watchers, 10));

        var producers = ProducerLine().Matches(r.StdOut);
        Assert.Equal(2, producers.Count);
        Assert.All(producers, m => Assert.Equal("0", m.Groups[3].Value));
        Assert.Matches(SlowdownLine(), r.StdOut);
    }

    private static int Int(Match m, int group) => int.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture);

    private static double Double(Match m, int group) => double.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture);
}
