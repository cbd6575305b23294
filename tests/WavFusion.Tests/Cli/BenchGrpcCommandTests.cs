using System.Globalization;
using System.Text.RegularExpressions;
using WavFusion.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WavFusion.Tests.Cli;

/// <summary>`wavfusion bench grpc --quick`: a real server process, real paced clients and watchers; its lines parse and say the streams completed.</summary>
public sealed partial class BenchGrpcCommandTests(ITestOutputHelper output)
{
    [GeneratedRegex(@"^streams N=(\d+): interim p50 (\d+) ms p95 (\d+) ms, final processing p50 (\d+) ms p95 (\d+) ms \(latency from the last voiced sample p50 (\d+) ms p95 (\d+) ms\), (\d+) results \((\d+) final\), drops (\d+), completed (\d+)/(\d+), completion ([0-9.]+) s .*sustained (yes|no)$", RegexOptions.Multiline)]
    private static partial Regex StreamsLine();

    [GeneratedRegex(@"^sustained: (\d+) concurrent real-time streams .*\(target >= 8: (met|not met)\)$", RegexOptions.Multiline)]
    private static partial Regex SustainedLine();

    [GeneratedRegex(@"^watchers: (\d+) watching all sessions while (\d+) stream\(s\) run: (\d+) events/s delivered .*, (\d+) events in all, lost (\d+), watchers that saw every event (\d+)/(\d+)$", RegexOptions.Multiline)]
    private static partial Regex WatchersLine();

    [GeneratedRegex(@"^producer slowdown: completion ([+-][0-9.]+) %, interim p95 latency ([+-][0-9.]+) % \(target <= 5 %: (met|not met)\)$", RegexOptions.Multiline)]
    private static partial Regex SlowdownLine();

    [Fact]
    public void Bench_grpc_quick_measures_a_real_server_and_prints_lines_that_parse()
    {
        var r = ProcessRunner.Cli("bench", "grpc", "--quick");
        output.WriteLine(r.All);
        Assert.True(r.ExitCode == 0, r.All);
        Assert.StartsWith("bench grpc: ", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("avx2 ", r.StdOut, StringComparison.Ordinal);

        var streams = StreamsLine().Matches(r.StdOut);
        Assert.NotEmpty(streams);
        Assert.Equal("1", streams[0].Groups[1].Value);
        foreach (Match m in streams)
        {
            int n = Int(m, 1);
            // Every stream of the run completed, with results (4 s of jfk.flac holds speech).
            Assert.Equal(n, Int(m, 11));
            Assert.Equal(n, Int(m, 12));
            Assert.True(Int(m, 8) > 0, m.Value);
            // A final's processing time starts at the detector's decision, after its last voiced sample.
            Assert.True(Int(m, 4) <= Int(m, 6) && Int(m, 5) <= Int(m, 7), m.Value);
        }
        Assert.Matches(SustainedLine(), r.StdOut);

        var watchers = WatchersLine().Match(r.StdOut);
        Assert.True(watchers.Success, r.StdOut);
        int count = Int(watchers, 1);
        Assert.Equal(20, count);
        Assert.True(Int(watchers, 4) >= count, "each watcher received at least one event");
        Assert.Equal(count, Int(watchers, 7));
        Assert.Matches(SlowdownLine(), r.StdOut);
    }

    private static int Int(Match m, int group) => int.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture);
}
