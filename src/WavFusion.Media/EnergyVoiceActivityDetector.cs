namespace WavFusion.Media;

/// <summary>
/// The simplest detector: a chunk is speech when its RMS level reaches <see cref="SpeechRms"/>. Stateless,
/// dependency-free, and what the transcriber uses when it is given no other detector; the live pipeline
/// uses Silero VAD.
/// </summary>
public sealed class EnergyVoiceActivityDetector : IVoiceActivityDetector
{
    public EnergyVoiceActivityDetector(double speechRms = 0.01)
    {
        if (!(speechRms > 0) || double.IsInfinity(speechRms))
            throw new ArgumentOutOfRangeException(nameof(speechRms), speechRms, "the speech RMS threshold must be positive and finite");
        SpeechRms = speechRms;
    }

    /// <summary>RMS at and above which a chunk counts as speech.</summary>
    public double SpeechRms { get; }

    public SpeechActivity Detect(AudioChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        double rms = Rms(chunk.Samples);
        return new SpeechActivity(chunk.StreamTime, chunk.End, rms >= SpeechRms, (float)Math.Min(1.0, rms / (2 * SpeechRms)));
    }

    public void Reset()
    {
    }

    private static double Rms(float[] samples)
    {
        if (samples.Length == 0) return 0;
        double sum = 0;
        foreach (float s in samples) sum += s * s;
        return Math.Sqrt(sum / samples.Length);
    }
}
