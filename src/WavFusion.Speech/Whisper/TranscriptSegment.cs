namespace WavFusion.Speech.Whisper;

/// <summary>
/// Transcript text over a span of stream time. Interim segments (not final) may still change;
/// <see cref="Stability"/> is 1 for committed text and lower for the unconfirmed tail.
/// </summary>
public sealed record TranscriptSegment(string Text, TimeSpan Start, TimeSpan End, bool IsFinal, double Stability);

/// <summary>A piece of 16 kHz mono audio and the stream time of its first sample.</summary>
public sealed record AudioChunk(float[] Samples, TimeSpan StreamTime);

/// <summary>Produces the words heard in a buffer of audio (buffer-relative seconds), given committed text as a prompt.</summary>
public interface IHypothesisSource
{
    Task<IReadOnlyList<TimedWord>> TranscribeAsync(float[] audio, string prompt, CancellationToken cancellationToken);
}
