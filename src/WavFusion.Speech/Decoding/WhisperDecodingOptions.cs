using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Streaming;

namespace WavFusion.Speech.Decoding;

public enum WhisperTask
{
    Transcribe,
    Translate,
}

/// <summary>Decoding settings; defaults are openai-whisper's <c>transcribe()</c> defaults.</summary>
public sealed record WhisperDecodingOptions
{
    public WhisperTask Task { get; init; } = WhisperTask.Transcribe;
    /// <summary>Language code ("en"); null detects it on multilingual models.</summary>
    public string? Language { get; init; }
    /// <summary>Tried in order until a result passes the compression-ratio and log-probability checks.</summary>
    public IReadOnlyList<double> Temperatures { get; init; } = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0];
    /// <summary>Beams at temperature 0; null decodes greedily.</summary>
    public int? BeamSize { get; init; } = 5;
    /// <summary>Samples drawn at temperature &gt; 0, the most likely kept.</summary>
    public int BestOf { get; init; } = 5;
    public bool WithoutTimestamps { get; init; }
    public double MaxInitialTimestamp { get; init; } = 1.0;
    public bool SuppressBlank { get; init; } = true;
    /// <summary>Tokens never sampled besides the non-speech symbols and the task/control tokens.</summary>
    public IReadOnlyList<int> SuppressTokens { get; init; } = [];
    public double CompressionRatioThreshold { get; init; } = 2.4;
    public double LogProbThreshold { get; init; } = -1.0;
    public double NoSpeechThreshold { get; init; } = 0.6;
    /// <summary>Condition each window on the text decoded so far (reset after a high-temperature fallback).</summary>
    public bool ConditionOnPreviousText { get; init; } = true;
    /// <summary>Text given as previous context, e.g. names and spellings; also the committed text when streaming.</summary>
    public string? InitialPrompt { get; init; }
    /// <summary>Most tokens sampled per window; null is half the text context, as openai-whisper does.</summary>
    public int? MaxSampledTokens { get; init; }
    public int Seed { get; init; } = 1234;
    /// <summary>
    /// 0 encodes every window as the full 30 s the published models were trained on (openai-whisper's
    /// behaviour). N &gt; 0 encodes only the window's frames rounded up to a multiple of N (whisper.cpp's
    /// audio_ctx): a 10 s window costs a third of the encoder and of the cross-attention, and rounding
    /// keeps the shapes few. Meant for short streaming buffers; accuracy on short contexts is the model's.
    /// </summary>
    public int AudioContextRounding { get; init; }
}
