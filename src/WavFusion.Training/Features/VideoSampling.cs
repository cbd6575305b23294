using System.Text.Json.Serialization;

namespace WavFusion.Training.Features;

/// <summary>How face frames are taken from an utterance's video: 5 fps at 224×224 by default, as the paper samples them.</summary>
public sealed record VideoSampling
{
    [JsonPropertyName("frames_per_second")] public double FramesPerSecond { get; init; } = 5;
    [JsonPropertyName("size")] public int Size { get; init; } = 224;

    /// <summary>Longer utterances are sampled evenly down to this many frames.</summary>
    [JsonPropertyName("max_frames")] public int MaxFrames { get; init; } = 64;
}
