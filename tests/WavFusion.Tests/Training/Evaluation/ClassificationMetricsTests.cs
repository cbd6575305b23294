using WavFusion.Training.Evaluation;

namespace WavFusion.Tests.Training;

public sealed class ClassificationMetricsTests
{
    [Fact]
    public void Hand_computed_three_class_case()
    {
        // labels    0 0 0 1 1 2
        // predicted 0 0 1 1 2 2
        var m = ClassificationMetrics.Compute([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2]);
        Assert.Equal(4.0 / 6, m.Accuracy, 12);
        // F1: class0 p=1 r=2/3 -> 0.8; class1 p=1/2 r=1/2 -> 0.5; class2 p=1/2 r=1 -> 2/3
        Assert.Equal((0.8 + 0.5 + 2.0 / 3) / 3, m.MacroF1, 12);
        Assert.Equal((0.8 * 3 + 0.5 * 2 + 2.0 / 3) / 6, m.WeightedF1, 12);
        Assert.Equal((2.0 / 3 + 0.5 + 1) / 3, m.UnweightedAccuracy, 12);
        Assert.Equal(2, m.ConfusionMatrix[0, 0]);
        Assert.Equal(1, m.ConfusionMatrix[0, 1]);
        Assert.Equal(1, m.ConfusionMatrix[1, 2]);
    }

    [Fact]
    public void Class_never_predicted_scores_zero_f1_without_dividing_by_zero()
    {
        var m = ClassificationMetrics.Compute([0, 1, 1], [0, 0, 0], classes: [0, 1, 2]);
        Assert.Equal(0, m.PerClassF1[1]);
        Assert.Equal(0, m.PerClassF1[2]);
        Assert.Equal(0.5, m.UnweightedAccuracy, 12); // class 2 has no support and does not count
        Assert.Equal(3, m.ConfusionMatrix.GetLength(0));
    }

    [Fact]
    public void Mismatched_or_unknown_inputs_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => ClassificationMetrics.Compute([0, 1], [0]));
        Assert.Throws<ArgumentException>(() => ClassificationMetrics.Compute([], []));
        var e = Assert.Throws<ArgumentException>(() => ClassificationMetrics.Compute([0, 5], [0, 0], classes: [0, 1]));
        Assert.Contains("label 5", e.Message);
    }
}
