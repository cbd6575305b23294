using System.Text.Json;
using System.Text.Json.Serialization;

namespace WavFusion.Training.Trainer;

/// <summary>
/// How to train (the <c>training</c> part of an experiment config). Two learning rates: the fused deep
/// wav2vec2 layers start from pretrained weights and get a small one; the new modules (branches, gated
/// attention, classifier, margin encoder) a larger one. Biases and normalisation weights get no weight decay.
/// </summary>
public sealed record TrainerOptions
{
    [JsonPropertyName("epochs")] public int Epochs { get; init; } = 30;
    [JsonPropertyName("batch_size")] public int BatchSize { get; init; } = 8;
    [JsonPropertyName("learning_rate_wav2vec2")] public double LearningRateWav2Vec2 { get; init; } = 5e-5;
    [JsonPropertyName("learning_rate_new")] public double LearningRateNew { get; init; } = 1e-3;
    [JsonPropertyName("weight_decay")] public double WeightDecay { get; init; } = 0.01;
    [JsonPropertyName("beta1")] public double Beta1 { get; init; } = 0.9;
    [JsonPropertyName("beta2")] public double Beta2 { get; init; } = 0.999;
    [JsonPropertyName("eps")] public double Eps { get; init; } = 1e-8;

    /// <summary>Warm-up length in optimiser steps; 0 = use <see cref="WarmupRatio"/> of all steps.</summary>
    [JsonPropertyName("warmup_steps")] public int WarmupSteps { get; init; }
    [JsonPropertyName("warmup_ratio")] public double WarmupRatio { get; init; } = 0.1;
    [JsonPropertyName("decay")] public LearningRateDecay Decay { get; init; } = LearningRateDecay.Linear;

    /// <summary>Global L2 norm the gradients are clipped to; 0 = no clipping.</summary>
    [JsonPropertyName("max_grad_norm")] public double MaxGradNorm { get; init; } = 1.0;

    /// <summary>Epochs without a better validation weighted F1 before stopping; 0 = never stop early.</summary>
    [JsonPropertyName("early_stopping_patience")] public int EarlyStoppingPatience { get; init; } = 5;
    [JsonPropertyName("seed")] public int Seed { get; init; } = 42;
    [JsonPropertyName("output_dir")] public string OutputDir { get; init; } = "runs/wavfusion";

    /// <summary>Where the frozen shallow audio is cached; null = <c>output_dir/feature-cache</c>.</summary>
    [JsonPropertyName("feature_cache_dir")] public string? FeatureCacheDir { get; init; }
    [JsonPropertyName("use_feature_cache")] public bool UseFeatureCache { get; init; } = true;

    [JsonIgnore] public string EffectiveFeatureCacheDir => FeatureCacheDir ?? Path.Combine(OutputDir, "feature-cache");

    public long WarmupFor(long totalSteps) => WarmupSteps > 0 ? WarmupSteps : (long)Math.Round(WarmupRatio * totalSteps);

    public void Validate()
    {
        if (Epochs <= 0) throw new ArgumentException($"epochs must be positive; got {Epochs}");
        if (BatchSize <= 0) throw new ArgumentException($"batch_size must be positive; got {BatchSize}");
        NonNegative(LearningRateWav2Vec2, "learning_rate_wav2vec2");
        NonNegative(LearningRateNew, "learning_rate_new");
        NonNegative(WeightDecay, "weight_decay");
        if (Beta1 is < 0 or >= 1) throw new ArgumentException($"beta1 must lie in [0, 1); got {Beta1}");
        if (Beta2 is < 0 or >= 1) throw new ArgumentException($"beta2 must lie in [0, 1); got {Beta2}");
        NonNegative(Eps, "eps");
        if (WarmupSteps < 0) throw new ArgumentException($"warmup_steps must not be negative; got {WarmupSteps}");
        if (WarmupRatio is < 0 or > 1 || double.IsNaN(WarmupRatio)) throw new ArgumentException($"warmup_ratio must lie in [0, 1]; got {WarmupRatio}");
        NonNegative(MaxGradNorm, "max_grad_norm");
        if (EarlyStoppingPatience < 0) throw new ArgumentException($"early_stopping_patience must not be negative; got {EarlyStoppingPatience}");
        if (string.IsNullOrWhiteSpace(OutputDir)) throw new ArgumentException("output_dir is empty");
    }

    private static readonly JsonSerializerOptions ReadOptions = new() { ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    public static TrainerOptions FromJson(string json)
    {
        TrainerOptions options;
        try
        {
            options = JsonSerializer.Deserialize<TrainerOptions>(json, ReadOptions) ?? throw new ArgumentException("training options are null");
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"not valid training options ({e.Path}): {e.Message}", e);
        }
        options.Validate();
        return options;
    }

    public string ToJson() => JsonSerializer.Serialize(this);

    private static void NonNegative(double value, string field)
    {
        if (value < 0 || double.IsNaN(value)) throw new ArgumentException($"{field} must not be negative; got {value}");
    }
}
