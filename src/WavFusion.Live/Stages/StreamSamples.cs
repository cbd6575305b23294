using WavFusion.Media;

namespace WavFusion.Live.Stages;

/// <summary>
/// Stream time as a sample index at <see cref="AudioChunk.SampleRate"/>. Stages count in samples so that windows and
/// frames line up exactly: a 16 kHz sample is exactly 625 ticks, so whole samples convert both ways without drift.
/// </summary>
internal static class StreamSamples
{
    private const long TicksPerSample = TimeSpan.TicksPerSecond / AudioChunk.SampleRate;

    /// <summary>The sample nearest <paramref name="time"/>.</summary>
    public static long FromTime(TimeSpan time)
    {
        long sample = Math.DivRem(time.Ticks, TicksPerSample, out long rest);
        if (2 * rest >= TicksPerSample) sample++;
        else if (2 * rest < -TicksPerSample) sample--;
        return sample;
    }

    public static TimeSpan ToTime(long sample) => TimeSpan.FromTicks(sample * TicksPerSample);

    public static long FromMilliseconds(int milliseconds) => (long)milliseconds * AudioChunk.SampleRate / 1000;
}
