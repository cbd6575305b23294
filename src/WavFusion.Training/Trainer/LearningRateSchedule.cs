using System.Text.Json.Serialization;

namespace WavFusion.Training.Trainer;

[JsonConverter(typeof(JsonStringEnumConverter<LearningRateDecay>))]
public enum LearningRateDecay
{
    [JsonStringEnumMemberName("linear")] Linear,
    [JsonStringEnumMemberName("cosine")] Cosine,
    [JsonStringEnumMemberName("constant")] Constant,
}

/// <summary>
/// Linear warm-up from 0, then linear, cosine or no decay to 0 at the last step; the multiplier of each
/// group's base learning rate. Same convention as transformers' get_*_schedule_with_warmup: the factor
/// for optimiser step s (0-based) is s / warmup during warm-up.
/// </summary>
public sealed record LearningRateSchedule(long TotalSteps, long WarmupSteps, LearningRateDecay Decay)
{
    public double Factor(long step)
    {
        if (step < WarmupSteps) return (double)step / Math.Max(1, WarmupSteps);
        if (Decay == LearningRateDecay.Constant) return 1;
        double progress = (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps);
        progress = Math.Clamp(progress, 0, 1);
        return Decay == LearningRateDecay.Linear ? 1 - progress : 0.5 * (1 + Math.Cos(Math.PI * progress));
    }
}
