using System.Text.Json.Serialization;

namespace WavFusion.Training.Trainer;

/// <summary>
/// Where a run stands after a completed epoch; stored as the <c>training</c> object of the last checkpoint's
/// manifest, so weights and state are replaced in one atomic rename. The optimiser moments live in a
/// separate TorchSharp file named here (written before the checkpoint, deleted only once a newer one is in place).
/// Not stored: the torch and shuffle generators, which are re-seeded from <c>seed</c> and the epoch number at
/// each epoch, so a resumed epoch draws what the uninterrupted one would have.
/// </summary>
public sealed record TrainerState
{
    [JsonPropertyName("epoch")] public int Epoch { get; init; }
    [JsonPropertyName("step")] public long Step { get; init; }
    [JsonPropertyName("best_epoch")] public int BestEpoch { get; init; }
    [JsonPropertyName("best_validation_weighted_f1")] public double BestValidationWeightedF1 { get; init; } = -1;
    [JsonPropertyName("epochs_without_improvement")] public int EpochsWithoutImprovement { get; init; }
    [JsonPropertyName("seed")] public int Seed { get; init; }
    [JsonPropertyName("optimizer_state")] public string? OptimizerState { get; init; }
    [JsonPropertyName("stopped_early")] public bool StoppedEarly { get; init; }
}
