using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using WavFusion.Models.Fusion;
using WavFusion.Tests.Fusion;
using WavFusion.Tests.Infrastructure;
using WavFusion.Training.Classifiers;
using WavFusion.Training.Evaluation;
using WavFusion.Training.Trainer;
using Xunit.Abstractions;

namespace WavFusion.Tests.Trainer;


[Collection(SeededTorchCollection.Name)]
public sealed class TrainerTests(ITestOutputHelper output)
{
    private static TrainerOptions Options(string dir, int epochs = 6) => new()
    {
        Epochs = epochs, BatchSize = 6, LearningRateWav2Vec2 = 1e-3, LearningRateNew = 1e-2, WeightDecay = 0.01,
        WarmupSteps = 2, Decay = LearningRateDecay.Linear, MaxGradNorm = 1.0, EarlyStoppingPatience = 0, Seed = 11, OutputDir = dir,
    };

    private static WavFusionModel NewModel()
    {
        torch.manual_seed(17);
        return new WavFusionModel(SyntheticEmotionData.TinyConfig());
    }

    [Fact]
    public void Training_learns_the_synthetic_task_writes_consistent_reports_and_reuses_the_cache()
    {
        using var dir = new TempDir();
        var data = SyntheticEmotionData.Splits();
        using var model = NewModel();
        var progress = new StringWriter();
        var trainer = new EmotionClassifierTrainer(Options(dir.File("run")), progress);

        var result = trainer.Train(model, data);
        output.WriteLine(progress.ToString());
        output.WriteLine($"test accuracy {result.TestMetrics.Accuracy:F3}, weighted F1 {result.TestMetrics.WeightedF1:F3}");

        Assert.Equal(6, result.EpochsCompleted);
        Assert.True(result.History[^1].TrainLoss < 0.8 * result.History[0].TrainLoss,
            $"train loss {string.Join(" → ", result.History.Select(h => h.TrainLoss.ToString("F3", CultureInfo.InvariantCulture)))}");
        Assert.True(result.TestMetrics.Accuracy > 0.6, $"test accuracy {result.TestMetrics.Accuracy} (chance 0.33)");

        int unique = data.Train.Count + data.Validation.Count;
        Assert.Equal((0L, (long)unique), (result.History[0].CacheHits, result.History[0].CacheMisses));
        Assert.All(result.History.Skip(1), h => Assert.Equal(((long)unique, 0L), (h.CacheHits, h.CacheMisses)));

        var lines = progress.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(6, lines.Length);
        Assert.Contains("epoch 6/6", lines[^1], StringComparison.Ordinal);
        Assert.Contains("ETA", lines[0], StringComparison.Ordinal);

        var log = File.ReadAllLines(Path.Combine(result.OutputDir, EmotionClassifierTrainer.LogFile)).Select(l => JsonSerializer.Deserialize<EpochRecord>(l)!).ToArray();
        Assert.Equal([1, 2, 3, 4, 5, 6], log.Select(r => r.Epoch));
        Assert.All(log, r => Assert.True(r.Seconds > 0 && double.IsFinite(r.TrainLoss) && r.LearningRateNew > 0));

        // predictions.csv reproduces metrics.json.
        var labels = SyntheticEmotionData.Labels;
        var rows = File.ReadAllLines(Path.Combine(result.OutputDir, EmotionClassifierTrainer.PredictionsFile));
        Assert.Equal("item,label,prediction,p_calm,p_tense,p_glad", rows[0]);
        Assert.Equal(data.Test.Count, rows.Length - 1);
        var parsed = rows.Skip(1).Select(r => r.Split(',')).ToArray();
        Assert.Equal(data.Test.Select(i => i.Id), parsed.Select(p => p[0]));
        foreach (var p in parsed)
        {
            var probs = p.Skip(3).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(1.0, probs.Sum(), 4);
            Assert.Equal(labels[Array.IndexOf(probs, probs.Max())], p[2]);
        }
        var recomputed = ClassificationMetrics.Compute(
            parsed.Select(p => Array.IndexOf(labels, p[1])).ToArray(), parsed.Select(p => Array.IndexOf(labels, p[2])).ToArray(), [0, 1, 2]);
        var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(result.OutputDir, EmotionClassifierTrainer.MetricsFile)))!;
        Assert.Equal(recomputed.Accuracy, metrics["accuracy"]!.GetValue<double>(), 12);
        Assert.Equal(recomputed.WeightedF1, metrics["weighted_f1"]!.GetValue<double>(), 12);
        Assert.Equal(recomputed.MacroF1, metrics["macro_f1"]!.GetValue<double>(), 12);
        Assert.Equal(recomputed.UnweightedAccuracy, metrics["unweighted_accuracy"]!.GetValue<double>(), 12);
        Assert.Equal(labels, metrics["labels"]!.AsArray().Select(l => l!.GetValue<string>()));
        var matrix = metrics["confusion_matrix"]!.AsArray();
        for (int t = 0; t < 3; t++)
            for (int q = 0; q < 3; q++)
                Assert.Equal(recomputed.ConfusionMatrix[t, q], matrix[t]![q]!.GetValue<long>());
        Assert.Equal(result.BestEpoch, metrics["best_epoch"]!.GetValue<int>());

        // The best checkpoint is a normal model folder.
        var (best, manifest) = WavFusionCheckpoint.Load(trainer.BestCheckpointDir);
        best.Dispose();
        Assert.Equal(result.BestEpoch, manifest.Training!["epoch"]!.GetValue<int>());
    }

    [Fact]
    public void A_run_cancelled_after_its_first_epoch_resumes_and_ends_like_an_uninterrupted_run()
    {
        using var dir = new TempDir();
        var data = SyntheticEmotionData.Splits(trainPerClass: 4, heldOutPerClass: 2);

        TrainingResult uninterrupted;
        using (var model = NewModel())
            uninterrupted = new EmotionClassifierTrainer(Options(dir.File("straight"), epochs: 3), TextWriter.Null).Train(model, data);

        using var cts = new CancellationTokenSource();
        using (var model = NewModel())
        {
            var trainer = new EmotionClassifierTrainer(Options(dir.File("crash"), epochs: 3), TextWriter.Null);
            Assert.Throws<OperationCanceledException>(() =>
            {
                trainer.Train(model, data, epochs: new Synchronous(r => { if (r.Epoch == 1) cts.Cancel(); }), cancellationToken: cts.Token);
            });
            Assert.True(Directory.Exists(trainer.LastCheckpointDir));
            Assert.False(File.Exists(Path.Combine(trainer.OutputDir, EmotionClassifierTrainer.MetricsFile)));
        }

        TrainingResult resumed;
        using (var model = NewModel())
            resumed = new EmotionClassifierTrainer(Options(dir.File("crash"), epochs: 3), TextWriter.Null).Train(model, data, resume: true);

        Assert.Equal([2, 3], resumed.History.Select(h => h.Epoch));
        Assert.Equal(3, resumed.EpochsCompleted);
        var log = File.ReadAllLines(Path.Combine(resumed.OutputDir, EmotionClassifierTrainer.LogFile)).Select(l => JsonSerializer.Deserialize<EpochRecord>(l)!).ToArray();
        Assert.Equal([1, 2, 3], log.Select(r => r.Epoch));
        for (int e = 0; e < 2; e++)
        {
            Assert.Equal(uninterrupted.History[e + 1].Step, resumed.History[e].Step);
            Assert.Equal(uninterrupted.History[e + 1].TrainLoss, resumed.History[e].TrainLoss, 4);
            Assert.Equal(uninterrupted.History[e + 1].ValidationLoss, resumed.History[e].ValidationLoss, 4);
        }
        Assert.Equal(uninterrupted.TestMetrics.Accuracy, resumed.TestMetrics.Accuracy);
    }

    [Fact]
    public void Options_read_from_json_and_the_schedule_warms_up_then_decays()
    {
        var options = TrainerOptions.FromJson("""
            { "epochs": 4, "batch_size": 2, "learning_rate_wav2vec2": 2e-5, "learning_rate_new": 3e-4, "weight_decay": 0.05,
              "warmup_ratio": 0.25, "decay": "cosine", "max_grad_norm": 5, "early_stopping_patience": 2, "seed": 9, "output_dir": "x" }
            """);
        Assert.Equal((4, 2, 2e-5, 3e-4, LearningRateDecay.Cosine, 9), (options.Epochs, options.BatchSize, options.LearningRateWav2Vec2, options.LearningRateNew, options.Decay, options.Seed));
        Assert.Equal(25, options.WarmupFor(100));
        Assert.Contains("batch_size", Assert.Throws<ArgumentException>(() => TrainerOptions.FromJson("""{ "batch_size": 0 }""")).Message, StringComparison.Ordinal);
        Assert.Contains("decay", Assert.Throws<ArgumentException>(() => TrainerOptions.FromJson("""{ "decay": "zigzag" }""")).Message, StringComparison.Ordinal);

        var linear = new LearningRateSchedule(10, 2, LearningRateDecay.Linear);
        Assert.Equal([0, 0.5, 1, 0.875, 0.5, 0.125, 0], new long[] { 0, 1, 2, 3, 6, 9, 10 }.Select(linear.Factor));
        var cosine = new LearningRateSchedule(10, 2, LearningRateDecay.Cosine);
        Assert.Equal(0.5, cosine.Factor(6), 12);
        Assert.Equal(0.5 * (1 + Math.Cos(Math.PI / 8)), cosine.Factor(3), 12);
        Assert.Equal(1, new LearningRateSchedule(10, 0, LearningRateDecay.Constant).Factor(9));
    }

    [Fact]
    public void Collation_pads_streams_with_masks_and_marks_missing_text_absent()
    {
        using var model = NewModel();
        var collator = new WavFusionBatchCollator(model, cache: null);
        var items = new ITrainingItem[]
        {
            new TrainingItem("a", 0, new float[3200].Select((_, i) => MathF.Sin(i * 0.1f)).ToArray(), torch.ones(2, 12)),
            new TrainingItem("b", 2, new float[1600].Select((_, i) => MathF.Sin(i * 0.3f)).ToArray()),
        };
        using var scope = torch.NewDisposeScope();
        var batch = collator.Collate(items);
        Assert.Equal([0L, 2L], batch.Labels.data<long>().ToArray());
        var mask = batch.Input.Shallow!.FrameMask!;
        long framesA = mask[0].sum().item<long>(), framesB = mask[1].sum().item<long>();
        Assert.Equal(mask.shape[1], framesA);
        Assert.True(framesB < framesA && framesB > 0);
        Assert.Equal(0f, batch.Input.Shallow.Hidden[1].narrow(0, framesB, mask.shape[1] - framesB).abs().sum().item<float>());
        Assert.Equal([true, false], batch.Input.Text!.Present().data<bool>().ToArray());
        Assert.Null(batch.Input.Visual);
        Assert.Contains("'b'", Assert.Throws<ArgumentException>(() => collator.Collate([new TrainingItem("b", 0, [])])).Message, StringComparison.Ordinal);
    }

    private sealed class Synchronous(Action<EpochRecord> action) : IProgress<EpochRecord>
    {
        public void Report(EpochRecord value) => action(value);
    }
}
