using WavFusion.Training.Evaluation;

namespace WavFusion.Training.Trainer;

/// <summary>The outcome of <see cref="EmotionClassifierTrainer.Train"/>: the epochs of this run and the whole run's best, and the test metrics of the best checkpoint.</summary>
public sealed record TrainingResult(
    IReadOnlyList<EpochRecord> History,
    int EpochsCompleted,
    int BestEpoch,
    double BestValidationWeightedF1,
    bool StoppedEarly,
    ClassificationMetrics TestMetrics,
    string OutputDir);
