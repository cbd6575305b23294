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
}

/// <summary>An <see cref="AsrOptions"/> value the chosen backend or model cannot use; <see cref="Option"/> names the command-line option.</summary>
public sealed class AsrOptionException(string option, string reason) : Exception($"{option}: {reason}")
{
    public string Option { get; } = option;
    public string Reason { get; } = reason;
}
