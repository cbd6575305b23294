using System.Text.Json.Nodes;
using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Tests.Fusion;
using WavFusion.Tests.Infrastructure;
using WavFusion.Training.Data;
using WavFusion.Training.Evaluation;
using WavFusion.Training.Experiments;
using WavFusion.Training.Trainer;

namespace WavFusion.Tests.Experiments;

[Collection(SeededTorchCollection.Name)]
public sealed class ExperimentRunnerTests
{
    private static readonly string[] Four = ["happy", "sad", "neutral", "angry"];

    [Fact]
    public void Cross_validation_trains_the_selected_folds_into_fold_folders_and_evaluate_reproduces_their_test_metrics()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("text.json"), """
            {
              "//": "a text-only LOSO run on in-memory items",
              "name": "toy-loso",
              "model": { "kind": "text_only", "config": { "text_dim": 6, "text_gru_hidden": 4, "text_heads": 2 } },
              "encoders": { "text": "enc" },
              "data": { "corpus": "iemocap", "root": "corpus", "protocol": "four_class_loso", "folds": [2, 4] },
              "modalities": ["text"],
              "training": { "epochs": 2, "batch_size": 5, "learning_rate_new": 0.01, "early_stopping_patience": 0, "seed": 3, "output_dir": "run" }
            }
            """);
        var config = ExperimentConfigLoader.Load(dir.File("text.json"));
        var (corpus, prepared) = Corpus(40);

        var folds = ExperimentRunner.Folds(config, corpus);
        Assert.Equal([2, 4], folds.Select(f => f.Number!.Value));
        Assert.Equal([dir.File("run/fold-2"), dir.File("run/fold-4")], folds.Select(f => f.OutputDir));

        var results = folds.Select(f => ExperimentRunner.TrainFold(config, f, ExperimentRunner.Splits(f.Partition, prepared),
            () => ExperimentModels.Build(config), log: TextWriter.Null)).ToArray();
        var summary = CrossValidationSummary.Write(dir.File("run/" + ExperimentRunner.CrossValidationFile), config.Name,
            folds.Select(f => (f.Name, f.OutputDir)).ToArray());

        Assert.Equal(results.Average(r => r.TestMetrics.WeightedF1), summary["mean"]!["weighted_f1"]!.GetValue<double>(), 12);
        foreach (var (fold, result) in folds.Zip(results))
        {
            foreach (var file in new[] { Scoring.MetricsFile, Scoring.PredictionsFile, ReportPlots.ConfusionMatrixFile, ReportPlots.TrainingCurvesFile, EmotionClassifierTrainer.LogFile })
                Assert.True(File.Exists(Path.Combine(fold.OutputDir, file)), $"{fold.OutputDir}/{file}");

            string best = Path.Combine(fold.OutputDir, EmotionClassifierTrainer.CheckpointsFolder, EmotionClassifierTrainer.BestCheckpoint);
            var classifier = ExperimentModels.FromCheckpoint(best, config);
            using var owned = classifier;
            var test = ExperimentRunner.Splits(fold.Partition, prepared).Test;
            var metrics = ExperimentRunner.Evaluate(classifier, test, Path.Combine(dir.Path, "eval", $"fold-{fold.Number}"), config.Training.BatchSize, "eval");
            Assert.Equal(result.TestMetrics.Accuracy, metrics.Accuracy, 12);
            Assert.Equal(result.TestMetrics.WeightedF1, metrics.WeightedF1, 12);
            Assert.Equal(File.ReadAllText(Path.Combine(fold.OutputDir, Scoring.PredictionsFile)),
                File.ReadAllText(Path.Combine(dir.Path, "eval", $"fold-{fold.Number}", Scoring.PredictionsFile)));
        }
        Assert.False(Directory.Exists(dir.File("run/fold-1")));

        // A checkpoint of another model configuration is refused by name.
        var other = config with { ModelConfig = (JsonObject)JsonNode.Parse(config.ModelConfig.ToJsonString().Replace("\"text_gru_hidden\":4", "\"text_gru_hidden\":2", StringComparison.Ordinal))! };
        using var fresh = ExperimentModels.Build(other);
        Assert.Throws<CheckpointException>(() => WavFusion.Training.Classifiers.ClassifierCheckpoint.LoadInto(fresh,
            Path.Combine(folds[0].OutputDir, EmotionClassifierTrainer.CheckpointsFolder, EmotionClassifierTrainer.BestCheckpoint)));
    }

    /// <summary>Five leave-one-session-out folds over the same items: fold k tests on session k, validates on the next.</summary>
    private static (LoadedCorpus Corpus, Dictionary<string, ITrainingItem> Prepared) Corpus(int count)
    {
        var random = new Random(12);
        var emotion = new List<EmotionItem>();
        var prepared = new Dictionary<string, ITrainingItem>(StringComparer.Ordinal);
        for (int n = 0; n < count; n++)
        {
            int label = n % 4, session = n / 4 % 5 + 1, tokens = 2 + random.Next(3);
            string id = $"Ses{session:D2}_{n:D3}";
            emotion.Add(new EmotionItem(id, "IEMOCAP", DataSplit.Train, Four[label], label, "text", new AudioSource("none.wav"), Session: session, Fold: session - 1));
            var text = new float[tokens * 6];
            for (int i = 0; i < text.Length; i++) text[i] = (float)((i % 6 == label ? 1.5 : 0.0) + 0.3 * (random.NextDouble() - 0.5));
            prepared[id] = new TrainingItem(id, label, [], torch.tensor(text, [tokens, 6]));
        }
        var partitions = Enumerable.Range(1, 5).Select(k => new DatasetPartition($"fold{k - 1}-test-session{k}",
            emotion.Where(e => e.Session != k && e.Session != k % 5 + 1).ToArray(),
            emotion.Where(e => e.Session == k % 5 + 1).ToArray(),
            emotion.Where(e => e.Session == k).ToArray())).ToArray();
        return (new LoadedCorpus(new LabelSet(Four), partitions, new DatasetReport("IEMOCAP", "corpus")), prepared);
    }
}
