using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using WavFusion.Training.Evaluation;

namespace WavFusion.Training.Trainer;

/// <summary>Class probabilities of scored items and their mean loss; predictions are the arg-max.</summary>
public sealed record Predictions(IReadOnlyList<ITrainingItem> Items, IReadOnlyList<float[]> Probabilities, double Loss)
{
    public int Prediction(int i)
    {
        var p = Probabilities[i];
        int best = 0;
        for (int c = 1; c < p.Length; c++) if (p[c] > p[best]) best = c;
        return best;
    }

    public ClassificationMetrics Metrics(int numClasses) => ClassificationMetrics.Compute(
        Items.Select(i => i.Label).ToArray(), Enumerable.Range(0, Items.Count).Select(Prediction).ToArray(), Enumerable.Range(0, numClasses).ToArray());
}

/// <summary>Scores items with a classifier (eval mode, no gradient) and writes the report files training and evaluation share.</summary>
public static class Scoring
{
    public const string MetricsFile = "metrics.json";
    public const string PredictionsFile = "predictions.csv";

    private static readonly JsonSerializerOptions ReportJson = new() { WriteIndented = true };

    public static Predictions Predict(IEmotionClassifier model, IBatchCollator collator, IReadOnlyList<ITrainingItem> items, int batchSize,
        IProgress<(int Done, int Total)>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(collator);
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0) throw new ArgumentException("no items to score", nameof(items));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        model.Module.eval();
        using var noGrad = torch.no_grad();
        var probabilities = new List<float[]>(items.Count);
        double loss = 0;
        for (int start = 0; start < items.Count; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            var slice = items.Skip(start).Take(batchSize).ToArray();
            using var step = model.Forward(collator.Collate(slice));
            loss += step.Total.item<float>() * slice.Length;
            var probs = step.Probabilities.cpu().data<float>().ToArray();
            int k = (int)step.Probabilities.shape[1];
            for (int i = 0; i < slice.Length; i++) probabilities.Add(probs.AsSpan(i * k, k).ToArray());
            progress?.Report((start + slice.Length, items.Count));
        }
        return new Predictions(items, probabilities, loss / items.Count);
    }

    /// <summary>
    /// Writes <c>metrics.json</c> (the metrics, labels, confusion matrix, per-class F1/recall, then
    /// <paramref name="extra"/>'s fields) and <c>predictions.csv</c> (item, label, prediction, one probability
    /// column per class) into <paramref name="folder"/>, each atomically.
    /// </summary>
    public static void WriteReport(string folder, IReadOnlyList<string> labelNames, Predictions scored, ClassificationMetrics metrics, JsonObject? extra = null)
    {
        ArgumentNullException.ThrowIfNull(labelNames);
        ArgumentNullException.ThrowIfNull(scored);
        ArgumentNullException.ThrowIfNull(metrics);
        Directory.CreateDirectory(folder);
        var k = metrics.Classes.Count;
        var matrix = new JsonArray();
        for (int t = 0; t < k; t++)
        {
            var row = new JsonArray();
            for (int p = 0; p < k; p++) row.Add(metrics.ConfusionMatrix[t, p]);
            matrix.Add(row);
        }
        var report = new JsonObject
        {
            ["split"] = "test",
            ["count"] = metrics.Count,
            ["accuracy"] = metrics.Accuracy,
            ["weighted_f1"] = metrics.WeightedF1,
            ["macro_f1"] = metrics.MacroF1,
            ["unweighted_accuracy"] = metrics.UnweightedAccuracy,
            ["labels"] = new JsonArray(labelNames.Select(l => (JsonNode)l).ToArray()),
            ["confusion_matrix"] = matrix,
            ["per_class_f1"] = new JsonArray(metrics.PerClassF1.Select(v => (JsonNode)v).ToArray()),
            ["per_class_recall"] = new JsonArray(metrics.PerClassRecall.Select(v => (JsonNode)v).ToArray()),
        };
        foreach (var (key, value) in extra ?? [])
            report[key] = value?.DeepClone();
        WriteAtomic(Path.Combine(folder, MetricsFile), report.ToJsonString(ReportJson) + "\n");

        var csv = new StringBuilder();
        csv.Append("item,label,prediction");
        foreach (var l in labelNames) csv.Append(",p_").Append(Csv(l));
        csv.Append('\n');
        for (int i = 0; i < scored.Items.Count; i++)
        {
            csv.Append(Csv(scored.Items[i].Id)).Append(',').Append(Csv(labelNames[scored.Items[i].Label]))
                .Append(',').Append(Csv(labelNames[scored.Prediction(i)]));
            foreach (float p in scored.Probabilities[i]) csv.Append(',').Append(p.ToString("R", CultureInfo.InvariantCulture));
            csv.Append('\n');
        }
        WriteAtomic(Path.Combine(folder, PredictionsFile), csv.ToString());
    }

    private static string Csv(string field) =>
        field.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : field;

    private static void WriteAtomic(string path, string text)
    {
        string staging = path + ".tmp";
        File.WriteAllText(staging, text);
        File.Move(staging, path, overwrite: true);
    }
}
