using WavFusion.Core.Quantization;

namespace WavFusion.Live.Asr;

/// <summary>Decoding choices both backends honour, in one place.</summary>
public sealed record AsrOptions
{
    /// <summary>Language code ("en", "de", …); detected when null (multilingual models).</summary>
    public string? Language { get; init; }

    /// <summary>Translate to English instead of transcribing.</summary>
    public bool Translate { get; init; }

    /// <summary>Beam width for whole-file transcription (1 = greedy). Streaming hypotheses are always greedy.</summary>
    public int BeamSize { get; init; } = 1;

    /// <summary>Whole-file transcription without timestamp tokens (TorchSharp only; whisper.cpp always predicts them).</summary>
    public bool WithoutTimestamps { get; init; }

    /// <summary>CPU threads of whisper.cpp. libtorch's thread count is process-wide and set by the application.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// How our port holds the decoder's weights (TorchSharp only): fp32, or packed f16/int8 for faster CPU decoding
    /// (README, "Weight formats"). whisper.cpp runs the ggml file's own types.
    /// </summary>
    public WeightFormat Weights { get; init; } = WeightFormat.Fp32;
}

/// <summary>An <see cref="AsrOptions"/> value the chosen backend or model cannot use; <see cref="Option"/> names the command-line option.</summary>
public sealed class AsrOptionException(string option, string reason) : Exception($"{option}: {reason}")
{
    public string Option { get; } = option;
    public string Reason { get; } = reason;
}
