namespace WavFusion.Core.Audio;

/// <summary>Mono float samples in [-1, 1] at a known rate.</summary>
public sealed record AudioClip(float[] Samples, int SampleRate)
{
    public double DurationSeconds => (double)Samples.Length / SampleRate;

    /// <summary>Throws unless the clip is at <paramref name="expectedRate"/> and has samples; names the source.</summary>
    public AudioClip Require(int expectedRate, string source)
    {
        if (SampleRate != expectedRate)
            throw new ArgumentException($"{source}: audio is at {SampleRate} Hz but {expectedRate} Hz is required (resample it, e.g. AudioFile.Load(path, {expectedRate}))");
        if (Samples.Length == 0) throw new ArgumentException($"{source}: audio has no samples");
        return this;
    }
}
