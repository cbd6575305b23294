using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Streaming;

namespace WavFusion.Speech.Decoding;

/// <summary>What one window's decoding produced, with the figures the fallback decides on.</summary>
public sealed record WhisperDecodingResult(
    IReadOnlyList<int> Tokens, string Text, string Language, double AverageLogProb, double NoSpeechProb,
    double Temperature, double CompressionRatio);

/// <summary>A transcribed span of audio; times in seconds from the start of the audio given.</summary>
public sealed record WhisperSegment(double Start, double End, string Text, IReadOnlyList<int> Tokens,
    double AverageLogProb, double NoSpeechProb, double Temperature, double CompressionRatio);
