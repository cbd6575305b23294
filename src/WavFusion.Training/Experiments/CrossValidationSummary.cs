using System.Text.Json;
using System.Text.Json.Nodes;
using WavFusion.Training.Trainer;

namespace WavFusion.Training.Experiments;

/// <summary>
/// <c>cv_summary.json</c>: each fold's test metrics as its <c>metrics.json</c> states them, and per metric the
/// mean and the sample standard deviation over the folds (n − 1; 0 for a single fold).
/// </summary>
public static class CrossValidationSummary
{
    public static readonly string[] Metrics = ["accuracy", "weighted_f1", "macro_f1", "unweighted_accuracy"];

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <param name="folds">Fold name and the folder holding its metrics.json, in fold order.</param>
    public static JsonObject Write(string path, string experiment, IReadOnlyList<(string Name, string Folder)> folds)
    {
        ArgumentNullException.ThrowIfNull(folds);
        if (folds.Count == 0) throw new ArgumentException("no folds to summarise", nameof(folds));
        var perFold = new JsonArray();
        var values = Metrics.ToDictionary(m => m, _ => new List<double>(), StringComparer.Ordinal);
        foreach (var (name, folder) in folds)
        {
            string file = Path.Combine(folder, Scoring.MetricsFile);
            if (!File.Exists(file)) throw new FileNotFoundException($"{file}: fold '{name}' has no metrics", file);
            var metrics = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
            var entry = new JsonObject { ["fold"] = name, ["folder"] = folder, ["count"] = metrics["count"]?.DeepClone() };
            foreach (var m in Metrics)
            {
                double v = metrics[m]?.GetValue<double>() ?? throw new InvalidDataException($"{file}: no '{m}'");
                values[m].Add(v);
                entry[m] = v;
            }
            perFold.Add(entry);
        }
        var mean = new JsonObject();
        var std = new JsonObject();
        foreach (var m in Metrics)
        {
            var v = values[m];
            double mu = v.Average();
            mean[m] = mu;
            std[m] = v.Count < 2 ? 0 : Math.Sqrt(v.Sum(x => (x - mu) * (x - mu)) / (v.Count - 1));
        }
        var summary = new JsonObject { ["experiment"] = experiment, ["folds"] = perFold, ["mean"] = mean, ["std"] = std };
        string staging = path + ".tmp";
        File.WriteAllText(staging, summary.ToJsonString(Indented) + "\n");
        File.Move(staging, path, overwrite: true);
        return summary;
    }
}
