using System.Globalization;
using System.Text.RegularExpressions;
using WavFusion.Inference.Encoders;
using WavFusion.Tests.Infrastructure;
using WavFusion.Training.Cache;
using WavFusion.Training.Classifiers;
using WavFusion.Training.Data;
using WavFusion.Training.Experiments;
using WavFusion.Training.Features;
using WavFusion.Training.SynthEmo;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace WavFusion.Tests.Cli;

public sealed partial class BenchTrainCommandTests(ITestOutputHelper output)
{
    [GeneratedRegex(@"epoch, cache (off|filling|warm)\s*:\s*([0-9.]+) s\s+([0-9.]+) utterances/s")]
    private static partial Regex EpochLine();

    [GeneratedRegex(@"featurise, (no cache|cache filling|cache warm)\s*:\s*([0-9.]+) s\s+([0-9.]+) ms/utterance")]
    private static partial Regex FeaturiseLine();

    /// <summary>
    /// A small demo-size run prints every measure, and what it leaves in --work-dir is the product's: the corpus reads
    /// back through the SynthEmo reader, and the product's featurizer with the demo model's encoders finds every text
    /// and face entry already in the bench's feature cache (a cache of the bench's own making would miss), next to the
    /// collator's shallow-audio entries.
    /// </summary>
    [Fact]
    public void Bench_train_goes_through_the_product_featurizer_and_cache_and_times_three_epochs()
    {
        using var dir = new TempDir();
        string work = dir.File("work");
        var r = ProcessRunner.Cli("bench", "train", "--size", "demo", "--utterances", "2", "--seconds", "0.5", "--batch-size", "2", "--repeats", "1",
            "--work-dir", work);
        output.WriteLine(r.All);
        Assert.True(r.ExitCode == 0, r.All);
        var epochs = EpochLine().Matches(r.StdOut).ToDictionary(m => m.Groups[1].Value, m => double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture));
        Assert.Equal(["filling", "off", "warm"], epochs.Keys);
        Assert.All(epochs.Values, v => Assert.True(v > 0));
        var featurise = FeaturiseLine().Matches(r.StdOut).Select(m => m.Groups[1].Value).ToArray();
        Assert.Equal(["no cache", "cache filling", "cache warm"], featurise);
        // Two utterances: the featurizer fills text + faces (4 misses), the filling epoch reads them (4 hits) and fills the
        // shallow audio (2 misses); the warm epoch reads all three of each (6 hits). A warm featurizer only checks entries.
        Assert.Contains("(cache: 10 hits, 6 misses", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("speed-up of a warm-cache epoch over no cache", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("peak resident memory", r.StdOut, StringComparison.Ordinal);

        var experiment = ExperimentRunner.Load(Path.Combine(RepoPaths.Root, "config", "experiments", "synthemo-demo.json"));
        var corpus = SynthEmoManifest.Load(Path.Combine(work, "corpus"));
        Assert.Equal(0, corpus.Report.SkippedCount);
        Assert.Equal(2, corpus.Items.Count);
        using var text = FeatureEncoderLoader.LoadText(experiment.Encoders.Text!);
        using var visual = FeatureEncoderLoader.LoadVisual(experiment.Encoders.Visual!);
        var cache = new FeatureCache(Path.Combine(work, "feature-cache"));
        var items = new ItemFeaturizer(text, visual, cache, experiment.Video)
            .Prepare(corpus.Items, experiment.Modalities.ToHashSet(), new DatasetReport("bench", work));
        Assert.Equal(2, items.Count);
        using (var scope = NewDisposeScope())
            foreach (var item in items)
            {
                Assert.Equal(text.Dim, item.Text!.shape[1]);
                Assert.Equal(visual.Dim, item.Visual!.shape[1]);
            }
        Assert.Equal(0, cache.Stats.Misses);
        Assert.Equal(4, cache.Stats.Hits);
        foreach (var kind in new[] { ItemFeaturizer.TextKind, ItemFeaturizer.VisualKind, WavFusionBatchCollator.CacheKind })
            Assert.Equal(2, Directory.GetFiles(Path.Combine(work, "feature-cache", kind), "*.safetensors", SearchOption.AllDirectories).Length);
    }

    [Fact]
    public void Bench_train_rejects_bad_options_by_name()
    {
        var r = ProcessRunner.Cli("bench", "train", "--size", "huge");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--size must be base or demo", r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_train_refuses_a_work_dir_that_is_not_empty()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("left-over"), "x");
        var r = ProcessRunner.Cli("bench", "train", "--size", "demo", "--work-dir", dir.Path);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--work-dir", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("not empty", r.StdErr, StringComparison.Ordinal);
    }
}
