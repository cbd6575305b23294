namespace WavFusion.Media;

/// <summary>A piece of 16 kHz mono audio and the stream time (originating time) of its first sample.</summary>
public sealed record AudioChunk(float[] Samples, TimeSpan StreamTime)
{
    /// <summary>The one sample rate audio travels at between stages; sources resample to it.</summary>
    public const int SampleRate = 16_000;

    public TimeSpan Duration => TimeSpan.FromSeconds(Samples.Length / (double)SampleRate);

    /// <summary>Stream time just after the last sample.</summary>
    public TimeSpan End => StreamTime + Duration;
}
