using WavFusion.Models.Whisper;

namespace WavFusion.Live.Asr;

/// <summary>Chooses and loads the recogniser behind the streaming transcriber: <c>--asr torchsharp|whispernet</c>.</summary>
public static class AsrBackends
{
    public static IReadOnlyList<string> Names { get; } = ["torchsharp", "whispernet"];

    public static AsrBackendKind Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "torchsharp" => AsrBackendKind.TorchSharp,
        "whispernet" => AsrBackendKind.WhisperNet,
        _ => throw new AsrOptionException("--asr", $"'{name}' is not a backend ({string.Join(", ", Names)})"),
    };

    /// <summary>
    /// Loads <paramref name="modelPath"/> with the chosen backend and checks the options against the model, so that a
    /// language the model lacks fails here rather than at the first decode.
    /// </summary>
    public static IAsrBackend Load(AsrBackendKind kind, string modelPath, AsrOptions options)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        ArgumentNullException.ThrowIfNull(options);
        IAsrBackend backend = kind switch
        {
            AsrBackendKind.TorchSharp => TorchSharpAsrBackend.Load(modelPath, options),
            AsrBackendKind.WhisperNet => WhisperNetHypothesisSource.Load(modelPath, options),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
        };
        try
        {
            CheckLanguage(options.Language, backend.Special);
            return backend;
        }
        catch
        {
            backend.Dispose();
            throw;
        }
    }

    public static void CheckLanguage(string? language, WhisperSpecialTokens special)
    {
        ArgumentNullException.ThrowIfNull(special);
        if (language is null) return;
        if (!special.IsMultilingual && language != "en")
            throw new AsrOptionException("--language", $"'{language}' is not available: this model is English-only (en)");
        if (special.IsMultilingual && special.Language(language) is null)
            throw new AsrOptionException("--language", $"'{language}' is not one of this model's {special.LanguageCount} languages " +
                                                       $"({string.Join(", ", WhisperLanguages.Codes.Take(special.LanguageCount).Take(10))}, ...)");
    }
}
