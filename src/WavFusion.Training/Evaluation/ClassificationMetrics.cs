namespace WavFusion.Training.Evaluation;

/// <summary>
/// The paper's classification metrics. Conventions follow scikit-learn with zero_division = 0:
/// weighted F1 weights each class's F1 by its support, macro F1 averages over the classes considered,
/// unweighted accuracy (UA) is the mean recall over the classes that occur in the labels.
/// </summary>
public sealed record ClassificationMetrics(
    double Accuracy,
    double WeightedF1,
    double MacroF1,
    double UnweightedAccuracy,
    IReadOnlyList<int> Classes,
    long[,] ConfusionMatrix,
    IReadOnlyList<double> PerClassF1,
    IReadOnlyList<double> PerClassRecall,
    int Count)
{
    /// <summary>
    /// Computes the metrics. <paramref name="classes"/> fixes the class ids and their order (rows/columns of
    /// the confusion matrix); by default the sorted union of labels and predictions, as scikit-learn does.
    /// </summary>
    public static ClassificationMetrics Compute(IReadOnlyList<int> labels, IReadOnlyList<int> predictions, IReadOnlyList<int>? classes = null)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(predictions);
        if (labels.Count != predictions.Count)
            throw new ArgumentException($"{labels.Count} labels but {predictions.Count} predictions", nameof(predictions));
        if (labels.Count == 0) throw new ArgumentException("no items to score", nameof(labels));

        classes ??= labels.Concat(predictions).Distinct().Order().ToArray();
        var index = new Dictionary<int, int>();
        for (int i = 0; i < classes.Count; i++)
            if (!index.TryAdd(classes[i], i)) throw new ArgumentException($"class {classes[i]} is listed twice", nameof(classes));

        int k = classes.Count;
        var cm = new long[k, k];
        for (int n = 0; n < labels.Count; n++)
        {
            if (!index.TryGetValue(labels[n], out int t)) throw new ArgumentException($"label {labels[n]} at item {n} is not one of the classes", nameof(labels));
            if (!index.TryGetValue(predictions[n], out int p)) throw new ArgumentException($"prediction {predictions[n]} at item {n} is not one of the classes", nameof(predictions));
            cm[t, p]++;
        }

        var f1 = new double[k];
        var recall = new double[k];
        var support = new long[k];
        long correct = 0;
        double weighted = 0, recallSum = 0;
        int present = 0;
        for (int c = 0; c < k; c++)
        {
            long tp = cm[c, c], predicted = 0;
            for (int j = 0; j < k; j++)
            {
                support[c] += cm[c, j];
                predicted += cm[j, c];
            }
            correct += tp;
            double precision = predicted == 0 ? 0 : (double)tp / predicted;
            recall[c] = support[c] == 0 ? 0 : (double)tp / support[c];
            f1[c] = precision + recall[c] == 0 ? 0 : 2 * precision * recall[c] / (precision + recall[c]);
            weighted += f1[c] * support[c];
            if (support[c] > 0)
            {
                recallSum += recall[c];
                present++;
            }
        }

        return new ClassificationMetrics(
            Accuracy: (double)correct / labels.Count,
            WeightedF1: weighted / labels.Count,
            MacroF1: f1.Average(),
            UnweightedAccuracy: recallSum / present,
            Classes: classes.ToArray(),
            ConfusionMatrix: cm,
            PerClassF1: f1,
            PerClassRecall: recall,
            Count: labels.Count);
    }
}
