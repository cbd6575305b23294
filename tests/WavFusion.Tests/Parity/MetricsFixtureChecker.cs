using System.Text.Json;
using WavFusion.Training.Evaluation;
using Xunit.Abstractions;

namespace WavFusion.Tests.Parity;

/// <summary>Checks our metrics against scikit-learn's values stored in a fixture's metrics.json.</summary>
public sealed class MetricsFixtureChecker : IReferenceFixtureChecker
{
    public string Kind => "metrics";

    public void Check(ReferenceFixture fixture, ITestOutputHelper log)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(fixture.File("metrics.json")));
        var root = doc.RootElement;
        int[] labels = root.GetProperty("labels").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        int[] predictions = root.GetProperty("predictions").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var m = ClassificationMetrics.Compute(labels, predictions);

        int checkedCount = 0;
        foreach (var (name, ours) in new (string, double)[]
                 {
                     ("accuracy", m.Accuracy), ("weighted_f1", m.WeightedF1),
                     ("macro_f1", m.MacroF1), ("unweighted_accuracy", m.UnweightedAccuracy),
                 })
        {
            if (!root.TryGetProperty(name, out var expected)) continue;
            log.WriteLine($"  {name}: ours {ours:F12} reference {expected.GetDouble():F12}");
            Assert.True(Math.Abs(ours - expected.GetDouble()) < 1e-9, $"{fixture.Name}: {name} {ours} but scikit-learn gives {expected.GetDouble()}");
            checkedCount++;
        }
        if (root.TryGetProperty("confusion_matrix", out var cmJson))
        {
            var rows = cmJson.EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray();
            Assert.Equal(rows.Length, m.ConfusionMatrix.GetLength(0));
            for (int i = 0; i < rows.Length; i++)
            {
                Assert.Equal(rows[i].Length, m.ConfusionMatrix.GetLength(1));
                for (int j = 0; j < rows[i].Length; j++)
                    Assert.True(rows[i][j] == m.ConfusionMatrix[i, j], $"{fixture.Name}: confusion_matrix[{i}][{j}] = {m.ConfusionMatrix[i, j]}, reference {rows[i][j]}");
            }
            checkedCount++;
        }
        Assert.True(checkedCount > 0, $"{fixture.Name}: metrics.json holds no reference values to check");
    }
}
