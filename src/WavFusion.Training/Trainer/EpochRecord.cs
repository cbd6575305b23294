using System.Text.Json.Serialization;

namespace WavFusion.Training.Trainer;

/// <summary>One line of the JSONL training log: what an epoch did and where the run stood after it.</summary>
public sealed record EpochRecord
{
    [JsonPropertyName("epoch")] public int Epoch { get; init; }
    [JsonPropertyName("step")] public long Step { get; init; }
    [JsonPropertyName("train_loss")] public double TrainLoss { get; init; }
    [JsonPropertyName("train_cross_entropy")] public double TrainCrossEntropy { get; init; }
    [JsonPropertyName("train_margin")] public double TrainMargin { get; init; }
    [JsonPropertyName("validation_loss")] public double ValidationLoss { get; init; }
    [JsonPropertyName("validation_accuracy")] public double ValidationAccuracy { get; init; }
    [JsonPropertyName("validation_weighted_f1")] public double ValidationWeightedF1 { get; init; }
    [JsonPropertyName("validation_macro_f1")] public double ValidationMacroF1 { get; init; }
    [JsonPropertyName("validation_unweighted_accuracy")] public double ValidationUnweightedAccuracy { get; init; }
    [JsonPropertyName("lr_wav2vec2")] public double LearningRateWav2Vec2 { get; init; }
    [JsonPropertyName("lr_new")] public double LearningRateNew { get; init; }
    [JsonPropertyName("grad_norm")] public double GradNorm { get; init; }
    [JsonPropertyName("seconds")] public double Seconds { get; init; }
    [JsonPropertyName("cache_hits")] public long CacheHits { get; init; }
    [JsonPropertyName("cache_misses")] public long CacheMisses { get; init; }
    [JsonPropertyName("is_best")] public bool IsBest { get; init; }
}
