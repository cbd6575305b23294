using System.Globalization;
using System.Text.RegularExpressions;
using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Cli;

public sealed partial class BenchTrainCommandTests
{
    [GeneratedRegex(@"cache (off|filling|warm)\s*:\s*([0-9.]+) s\s+([0-9.]+) utterances/s")]
    private static partial Regex EpochLine();

    [Fact]
    public void Bench_train_times_three_epochs_and_the_warm_one_only_reads_the_cache()
    {
        var r = ProcessRunner.Cli("bench", "train", "--size", "demo", "--utterances", "2", "--seconds", "0.5", "--batch-size", "2", "--repeats", "1");
        Assert.True(r.ExitCode == 0, r.All);
        var epochs = EpochLine().Matches(r.StdOut).ToDictionary(m => m.Groups[1].Value, m => double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture));
        Assert.Equal(["filling", "off", "warm"], epochs.Keys);
        Assert.All(epochs.Values, v => Assert.True(v > 0));
        // Two utterances, three frozen parts each (text, frames, shallow audio): filled once (6 misses), read once (6 hits).
        Assert.Contains("(cache: 6 hits, 6 misses", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("through a random demo RoBERTa", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("speed-up of a warm-cache epoch over no cache", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_train_rejects_bad_options_by_name()
    {
        var r = ProcessRunner.Cli("bench", "train", "--size", "huge");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--size must be base or demo", r.StdErr, StringComparison.Ordinal);
    }
}
