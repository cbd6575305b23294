using System.Globalization;
using ScottPlot;
using WavFusion.Training.Trainer;

namespace WavFusion.Training.Evaluation;

/// <summary>The report's PNGs, rendered off-screen by ScottPlot (SkiaSharp; no display or font service needed).</summary>
public static class ReportPlots
{
    public const string ConfusionMatrixFile = "confusion_matrix.png";
    public const string TrainingCurvesFile = "training_curves.png";

    /// <summary>Rows are the true classes, columns the predictions; each cell shows its count and its share of the row.</summary>
    public static void ConfusionMatrix(string path, IReadOnlyList<string> labels, long[,] matrix, string title)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(matrix);
        int k = labels.Count;
        if (matrix.GetLength(0) != k || matrix.GetLength(1) != k)
            throw new ArgumentException($"confusion matrix is {matrix.GetLength(0)}x{matrix.GetLength(1)} for {k} labels", nameof(matrix));
        var share = new double[k, k];
        for (int t = 0; t < k; t++)
        {
            long row = 0;
            for (int p = 0; p < k; p++) row += matrix[t, p];
            for (int p = 0; p < k; p++) share[t, p] = row == 0 ? 0 : (double)matrix[t, p] / row;
        }

        using var plot = new Plot();
        var heatmap = plot.Add.Heatmap(share);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.ManualRange = new ScottPlot.Range(0, 1);
        heatmap.Rectangle = new CoordinateRect(-0.5, k - 0.5, -0.5, k - 0.5);
        plot.Add.ColorBar(heatmap);
        for (int t = 0; t < k; t++)
            for (int p = 0; p < k; p++)
            {
                var text = plot.Add.Text(string.Create(CultureInfo.InvariantCulture, $"{matrix[t, p]}\n{share[t, p]:P0}"), p, k - 1 - t);
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelFontColor = share[t, p] > 0.6 ? Colors.Black : Colors.White;
                text.LabelFontSize = k > 8 ? 9 : 12;
            }
        var positions = Enumerable.Range(0, k).Select(i => (double)i).ToArray();
        plot.Axes.Bottom.SetTicks(positions, labels.ToArray());
        plot.Axes.Left.SetTicks(positions, labels.Reverse().ToArray());
        plot.Axes.Bottom.Label.Text = "predicted";
        plot.Axes.Left.Label.Text = "true";
        plot.Title(title);
        plot.Axes.SetLimits(-0.5, k - 0.5, -0.5, k - 0.5);
        Save(plot, path, 180 + 80 * k, 120 + 70 * k);
    }

    /// <summary>Train and validation loss (left axis) and validation weighted F1 and accuracy (right axis) per epoch; the best epoch is marked.</summary>
    public static void TrainingCurves(string path, IReadOnlyList<EpochRecord> epochs, string title)
    {
        ArgumentNullException.ThrowIfNull(epochs);
        if (epochs.Count == 0) throw new ArgumentException("no epochs to plot", nameof(epochs));
        var x = epochs.Select(e => (double)e.Epoch).ToArray();
        using var plot = new Plot();
        Line(plot, x, epochs.Select(e => e.TrainLoss), "train loss", Colors.C0, plot.Axes.Left);
        Line(plot, x, epochs.Select(e => e.ValidationLoss), "val loss", Colors.C1, plot.Axes.Left);
        Line(plot, x, epochs.Select(e => e.ValidationWeightedF1), "val weighted F1", Colors.C2, plot.Axes.Right);
        Line(plot, x, epochs.Select(e => e.ValidationAccuracy), "val accuracy", Colors.C3, plot.Axes.Right);
        if (epochs.LastOrDefault(e => e.IsBest) is { } best)
        {
            var line = plot.Add.VerticalLine(best.Epoch);
            line.LinePattern = LinePattern.Dashed;
            line.Color = Colors.Gray;
            line.LegendText = $"best epoch {best.Epoch}";
        }
        plot.Axes.Bottom.Label.Text = "epoch";
        plot.Axes.Left.Label.Text = "loss";
        plot.Axes.Right.Label.Text = "weighted F1 / accuracy";
        plot.Axes.SetLimitsY(0, 1, plot.Axes.Right);
        plot.Title(title);
        plot.ShowLegend(Alignment.UpperRight);
        Save(plot, path, 900, 500);
    }

    private static void Line(Plot plot, double[] x, IEnumerable<double> y, string label, Color color, IYAxis axis)
    {
        var series = plot.Add.Scatter(x, y.ToArray(), color);
        series.LegendText = label;
        series.Axes.YAxis = axis;
    }

    private static void Save(Plot plot, string path, int width, int height)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        string staging = path + ".tmp.png";
        plot.SavePng(staging, width, height);
        File.Move(staging, path, overwrite: true);
    }
}
