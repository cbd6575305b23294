namespace WavFusion.Media;

/// <summary>
/// Decides, chunk by chunk, whether a stream's audio is speech. Stateful (smoothing, hysteresis): one
/// instance per stream, fed in stream order. The live pipeline runs one detector per stream and hands its
/// decisions to both the transcriber and the emotion windows, so the two never disagree about speech.
/// </summary>
public interface IVoiceActivityDetector
{
    /// <summary>The decision for <paramref name="chunk"/>, which follows the previous chunk in stream time.</summary>
    SpeechActivity Detect(AudioChunk chunk);

    /// <summary>Forgets the stream's history (a new stream, or a discontinuity).</summary>
    void Reset();
}
