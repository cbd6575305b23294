namespace WavFusion.Media;

/// <summary>
/// Transcript text over a span of stream time. Interim segments (not final) may still change;
/// <see cref="Stability"/> is 1 for committed text and lower for the unconfirmed tail.
/// </summary>
public sealed record TranscriptSegment(string Text, TimeSpan Start, TimeSpan End, bool IsFinal, double Stability);
