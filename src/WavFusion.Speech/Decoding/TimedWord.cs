using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Streaming;

namespace WavFusion.Speech.Decoding;

/// <summary>A word of a hypothesis with its time span in seconds (stream time once placed).</summary>
public sealed record TimedWord(string Text, double Start, double End)
{
    public TimedWord Shift(double seconds) => this with { Start = Start + seconds, End = End + seconds };

    /// <summary>
    /// Words of segments, each segment's span shared among its words by character count; segment-level
    /// timestamps are what the decoder gives, so word times are this approximation.
    /// </summary>
    public static List<TimedWord> FromSegments(IEnumerable<WhisperSegment> segments)
    {
        var words = new List<TimedWord>();
        foreach (var s in segments)
        {
            var parts = s.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            int chars = parts.Sum(p => p.Length);
            double t = s.Start;
            foreach (var p in parts)
            {
                double span = chars == 0 ? 0 : (s.End - s.Start) * p.Length / chars;
                words.Add(new TimedWord(p, t, t + span));
                t += span;
            }
        }
        return words;
    }
}
