using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json.Nodes;
using TorchSharp;
using WavFusion.Models.Unimodal;
using WavFusion.Tests.Fusion;
using WavFusion.Tests.Infrastructure;
using WavFusion.Training.Classifiers;
using WavFusion.Training.Evaluation;
using WavFusion.Training.Experiments;
using WavFusion.Training.Trainer;

namespace WavFusion.Tests.Experiments;

[Collection(SeededTorchCollection.Name)]
public sealed class ExperimentReportTests
{
    private static readonly string[] Labels = ["calm", "tense", "glad"];

    [Fact]
    public void Cross_validation_summary_means_and_deviations_are_those_of_the_fold_metrics_files()
    {
        using var dir = new TempDir();
        var random = new Random(5);
        var folds = new List<(string, string)>();
        for (int k = 1; k <= 3; k++)
        {
            var items = Enumerable.Range(0, 20 + k).Select(i => (ITrainingItem)new TrainingItem($"f{k}-{i}", i % 3, [])).ToArray();
            var probabilities = items.Select(_ => Enumerable.Range(0, 3).Select(_ => (float)random.NextDouble()).ToArray()).ToArray();
            var scored = new Predictions(items, probabilities, 0.5);
            string folder = dir.File($"fold-{k}");
            Scoring.WriteReport(folder, Labels, scored, scored.Metrics(3));
            folds.Add(($"fold{k}", folder));
        }

        var summary = CrossValidationSummary.Write(dir.File(ExperimentRunner.CrossValidationFile), "toy", folds);
        var reread = JsonNode.Parse(File.ReadAllText(dir.File(ExperimentRunner.CrossValidationFile)))!;
        Assert.Equal(summary.ToJsonString(), reread.ToJsonString());
        foreach (var metric in CrossValidationSummary.Metrics)
        {
            var values = folds.Select(f => JsonNode.Parse(File.ReadAllText(Path.Combine(f.Item2, Scoring.MetricsFile)))![metric]!.GetValue<double>()).ToArray();
            Assert.Equal(values.Average(), reread["mean"]![metric]!.GetValue<double>(), 12);
            double mean = values.Average();
            Assert.Equal(Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / 2), reread["std"]![metric]!.GetValue<double>(), 12);
            Assert.Equal(values, reread["folds"]!.AsArray().Select(f => f![metric]!.GetValue<double>()));
        }
        Assert.Equal(["fold1", "fold2", "fold3"], reread["folds"]!.AsArray().Select(f => f!["fold"]!.GetValue<string>()));
    }

    [Fact]
    public void Report_plots_are_valid_pngs_of_the_requested_size()
    {
        using var dir = new TempDir();
        long[,] matrix = { { 5, 1, 0 }, { 2, 7, 1 }, { 0, 0, 4 } };
        string confusion = dir.File(ReportPlots.ConfusionMatrixFile);
        ReportPlots.ConfusionMatrix(confusion, Labels, matrix, "toy: test");
        var epochs = Enumerable.Range(1, 6).Select(e => new EpochRecord
        {
            Epoch = e, TrainLoss = 1.0 / e, ValidationLoss = 1.2 / e, ValidationWeightedF1 = 0.1 * e, ValidationAccuracy = 0.11 * e, IsBest = e == 5,
        }).ToArray();
        string curves = dir.File(ReportPlots.TrainingCurvesFile);
        ReportPlots.TrainingCurves(curves, epochs, "toy");

        AssertPng(confusion, 180 + 80 * 3, 120 + 70 * 3);
        AssertPng(curves, 900, 500);
        Assert.False(File.Exists(confusion + ".tmp.png"));
        Assert.Throws<ArgumentException>(() => ReportPlots.ConfusionMatrix(dir.File("bad.png"), ["a", "b"], matrix, "bad"));
    }

    [Fact]
    public void Evaluate_writes_metrics_that_its_predictions_csv_reproduces_and_a_confusion_matrix()
    {
        using var dir = new TempDir();
        torch.manual_seed(3);
        using var model = new UnimodalEmotionModel(new UnimodalConfig { Stream = UnimodalStream.Text, TextDim = 6, TextGruHidden = 4, TextHeads = 2, LabelNames = Labels });
        var classifier = new UnimodalClassifier(model);
        var items = TextItems(15, seed: 4);

        var metrics = ExperimentRunner.Evaluate(classifier, items, dir.Path, batchSize: 4, "toy: test", new JsonObject { ["checkpoint"] = "none" });

        var rows = File.ReadAllLines(dir.File(Scoring.PredictionsFile));
        Assert.Equal("item,label,prediction,p_calm,p_tense,p_glad", rows[0]);
        var parsed = rows.Skip(1).Select(r => r.Split(',')).ToArray();
        Assert.Equal(items.Select(i => i.Id), parsed.Select(p => p[0]));
        foreach (var p in parsed)
        {
            var probs = p.Skip(3).Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(1.0, probs.Sum(), 4);
            Assert.Equal(Labels[Array.IndexOf(probs, probs.Max())], p[2]);
        }
        var recomputed = ClassificationMetrics.Compute(
            parsed.Select(p => Array.IndexOf(Labels, p[1])).ToArray(), parsed.Select(p => Array.IndexOf(Labels, p[2])).ToArray(), [0, 1, 2]);
        var json = JsonNode.Parse(File.ReadAllText(dir.File(Scoring.MetricsFile)))!;
        foreach (var (name, value) in new[] { ("accuracy", recomputed.Accuracy), ("weighted_f1", recomputed.WeightedF1), ("macro_f1", recomputed.MacroF1), ("unweighted_accuracy", recomputed.UnweightedAccuracy) })
            Assert.Equal(value, json[name]!.GetValue<double>(), 12);
        Assert.Equal(metrics.WeightedF1, recomputed.WeightedF1, 12);
        Assert.Equal(15, json["count"]!.GetValue<int>());
        Assert.Equal("none", json["checkpoint"]!.GetValue<string>());
        var matrix = json["confusion_matrix"]!.AsArray();
        for (int t = 0; t < 3; t++)
            for (int q = 0; q < 3; q++)
                Assert.Equal(recomputed.ConfusionMatrix[t, q], matrix[t]![q]!.GetValue<long>());
        AssertPng(dir.File(ReportPlots.ConfusionMatrixFile), 180 + 80 * 3, 120 + 70 * 3);
    }

    internal static ITrainingItem[] TextItems(int count, int seed, int dim = 6)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(n =>
        {
            int label = n % 3, tokens = 2 + random.Next(4);
            var text = new float[tokens * dim];
            for (int i = 0; i < text.Length; i++) text[i] = (float)((i % dim / 2 == label ? 1.0 : 0.0) + 0.3 * (random.NextDouble() - 0.5));
            return (ITrainingItem)new TrainingItem($"item-{n:D2}", label, [], torch.tensor(text, [tokens, dim]));
        }).ToArray();
    }

    private static void AssertPng(string path, int width, int height)
    {
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length > 4000, $"{path}: {bytes.Length} bytes is too small for a rendered plot");
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
        Assert.Equal(width, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)));
        Assert.Equal(height, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20)));
    }
}
