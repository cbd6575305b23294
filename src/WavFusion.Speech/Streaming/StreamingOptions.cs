using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Decoding;

namespace WavFusion.Speech.Streaming;

/// <summary>Policy of the streaming transcriber, in one place.</summary>
public sealed record StreamingOptions
{
    /// <summary>New audio gathered before the buffer is transcribed again.</summary>
    public double MinChunkSeconds { get; init; } = 1.0;
    /// <summary>Above this the buffer is cut at the end of committed text (whisper_streaming's buffer_trimming_sec).</summary>
    public double TrimSeconds { get; init; } = 15.0;
    /// <summary>Hard bound: pending words are committed and the buffer cut when it would exceed one encoder window.</summary>
    public double MaxBufferSeconds { get; init; } = 30.0;
    /// <summary>RMS below which a chunk counts as silence, for the default energy detector.</summary>
    public double SilenceRms { get; init; } = 0.01;
    /// <summary>
    /// Audio kept from before the first speech chunk of an utterance. A detector confirms speech a little after it
    /// begins (Silero after its min_speech_ms, the energy gate at the first loud chunk), so the start of the first
    /// word lies in the audio just before; without it Whisper would hear the word cut.
    /// </summary>
    public double PreRollSeconds { get; init; } = 0.5;
    /// <summary>Silence after speech that ends the utterance: pending words are committed and the buffer cleared.</summary>
    public double EndOfUtteranceSeconds { get; init; } = 0.8;
    /// <summary>Committed characters given to the decoder as previous text.</summary>
    public int PromptChars { get; init; } = 200;
    /// <summary>Stability reported for interim (unconfirmed) words.</summary>
    public double InterimStability { get; init; } = 0.5;
}
