using System.Globalization;
using System.Text.RegularExpressions;
using WavFusion.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WavFusion.Tests.Cli;

/// <summary>
/// `wavfusion bench live` at its smallest: every part but the base-size model (whose random 780 MB folder takes longer
/// to write than this test may), streams of a few seconds. Its output must parse; its numbers are printed, not judged.
/// </summary>
public sealed partial class BenchLiveCommandTests(ITestOutputHelper output)
{
    [GeneratedRegex(@"^latency: demo, 1 stream, .*: p50 (\d+) ms, p95 (\d+) ms, .*; results (\d+) \(", RegexOptions.Multiline)]
    private static partial Regex LatencyLine();

    [GeneratedRegex(@"^streams: demo, N=(\d+): p50 (\d+) ms, p95 (\d+) ms, .*capture drops (\d+) .*: (sustained|behind \(.+\))$", RegexOptions.Multiline)]
    private static partial Regex StreamsLine();

    [GeneratedRegex(@"^whisper: demo \+ whisper-tiny live, .*: transcript RTF ([0-9.]+) \((\d+) steps, .*; event p50 (\d+) ms, p95 (\d+) ms", RegexOptions.Multiline)]
    private static partial Regex WhisperLine();

    [GeneratedRegex(@"^memory: t=\d+:\d\d RSS ([0-9.]+) MiB", RegexOptions.Multiline)]
    private static partial Regex MemorySample();

    [GeneratedRegex(@"^memory: 1 stream\(s\) x .*RSS start ([0-9.]+) MiB .* -> end ([0-9.]+) MiB .*: ratio ([0-9.]+)", RegexOptions.Multiline)]
    private static partial Regex MemoryRatio();

    [GeneratedRegex(@"^  target: (.+) \| measured (.+) \| (met|NOT met)$", RegexOptions.Multiline)]
    private static partial Regex TargetLine();

    [Fact]
    public void Bench_live_runs_every_part_at_smoke_size_and_prints_lines_that_parse()
    {
        var run = ProcessRunner.Cli("bench", "live", "--part", "latency", "streams", "whisper", "memory",
            "--seconds", "5", "--streams", "1,2", "--minutes", "0.15", "--memory-streams", "1", "--warmup", "0");
        output.WriteLine(run.StdOut);
        output.WriteLine(run.StdErr);
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}\n{run.All}");

        Assert.Matches(@"(?m)^bench live: libtorch .*; CPU .+\(", run.StdOut);
        var latency = LatencyLine().Match(run.StdOut);
        Assert.True(latency.Success, "no latency line");
        Assert.True(int.Parse(latency.Groups[3].Value, CultureInfo.InvariantCulture) > 0, "the latency stream produced no results");
        Assert.True(int.Parse(latency.Groups[1].Value, CultureInfo.InvariantCulture) <= int.Parse(latency.Groups[2].Value, CultureInfo.InvariantCulture), "p50 above p95");

        // Counts are tried in order and stop at the first that falls behind (a loaded machine may stop at 1).
        var streams = StreamsLine().Matches(run.StdOut).ToList();
        Assert.InRange(streams.Count, 1, 2);
        Assert.Equal(Enumerable.Range(1, streams.Count).Select(n => n.ToString(CultureInfo.InvariantCulture)), streams.Select(m => m.Groups[1].Value));
        Assert.All(streams.SkipLast(1), m => Assert.Equal("sustained", m.Groups[5].Value));
        Assert.Matches(@"(?m)^  batches \(size x count\): (\d+x\d+(, )?)+; thread pool max \d+ threads", run.StdOut);

        var whisper = WhisperLine().Match(run.StdOut);
        Assert.True(whisper.Success, "no whisper line");
        Assert.True(int.Parse(whisper.Groups[2].Value, CultureInfo.InvariantCulture) > 0, "the transcriber never stepped");

        Assert.True(MemorySample().Matches(run.StdOut).Count >= 3, "fewer than three memory samples");
        var memory = MemoryRatio().Match(run.StdOut);
        Assert.True(memory.Success, "no memory summary");
        double start = double.Parse(memory.Groups[1].Value, CultureInfo.InvariantCulture), end = double.Parse(memory.Groups[2].Value, CultureInfo.InvariantCulture);
        // The ratio is printed to 3 decimals from unrounded sizes; the sizes are printed rounded: agree within that rounding.
        double ratio = double.Parse(memory.Groups[3].Value, CultureInfo.InvariantCulture);
        Assert.True(Math.Abs(end / start - ratio) < 0.01, $"printed ratio {ratio} but {end} / {start} = {end / start:F4}");

        var targets = TargetLine().Matches(run.StdOut).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(4, targets.Count);
        Assert.Contains(targets, t => t.StartsWith("demo p95 < 200 ms", StringComparison.Ordinal));
        Assert.Contains(targets, t => t.StartsWith("demo >= 8 concurrent", StringComparison.Ordinal));
        Assert.Contains(targets, t => t.StartsWith("one stream with Whisper tiny", StringComparison.Ordinal));
        Assert.Contains(targets, t => t.StartsWith("memory flat within 5 %", StringComparison.Ordinal));
    }

    [Fact]
    public void Bench_live_rejects_bad_options_by_name()
    {
        var streams = ProcessRunner.Cli("bench", "live", "--streams", "1,x");
        Assert.Equal(2, streams.ExitCode);
        Assert.StartsWith("error: --streams: 'x' is not a stream count", streams.StdErr.Trim(), StringComparison.Ordinal);
        var minutes = ProcessRunner.Cli("bench", "live", "--minutes", "0");
        Assert.Equal(2, minutes.ExitCode);
        Assert.StartsWith("error: --minutes:", minutes.StdErr.Trim(), StringComparison.Ordinal);
    }
}
