using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Streaming;

namespace WavFusion.Live.Asr;

/// <summary>The speech recognisers a transcript can run on; both load whisper.cpp ggml files.</summary>
public enum AsrBackendKind
{
    /// <summary>Our TorchSharp Whisper port (ggml files and Hugging Face folders).</summary>
    TorchSharp,
    /// <summary>whisper.cpp in process, through Whisper.net (ggml files).</summary>
    WhisperNet,
}

/// <summary>
/// A loaded recogniser: the hypothesis source the streaming transcriber runs on, and whole-file transcription.
/// One per process or per model, shared by the streams that use it; disposing it frees the model.
/// </summary>
public interface IAsrBackend : IHypothesisSource, IDisposable
{
    AsrBackendKind Kind { get; }

    /// <summary>What was loaded, for a log line: the backend and the model file.</summary>
    string Description { get; }

    /// <summary>The model's special tokens: whether it is multilingual and which languages it knows.</summary>
    WhisperSpecialTokens Special { get; }

    /// <summary>Segments of a whole recording, in its own time (seconds from its first sample).</summary>
    IAsyncEnumerable<TranscriptSegment> TranscribeFileAsync(float[] audio, CancellationToken cancellationToken = default);
}
