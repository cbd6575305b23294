using TorchSharp;

namespace WavFusion.Speech.Whisper;

/// <summary>Hypotheses from Whisper: one window, greedy, with timestamps, prompted with the committed text.</summary>
public sealed class WhisperHypothesisSource(WhisperTranscriber transcriber, WhisperDecodingOptions? options = null) : IHypothesisSource
{
    private readonly WhisperDecodingOptions _options = (options ?? new WhisperDecodingOptions()) with
    {
        BeamSize = null,
        Temperatures = [0.0],
        ConditionOnPreviousText = false,
    };

    public Task<IReadOnlyList<TimedWord>> TranscribeAsync(float[] audio, string prompt, CancellationToken cancellationToken)
    {
        // Decoding is CPU/GPU bound; a worker thread keeps the caller's loop responsive.
        return Task.Run<IReadOnlyList<TimedWord>>(() =>
        {
            using var _ = torch.no_grad();
            var segments = transcriber.Transcribe(audio, _options with { InitialPrompt = prompt }, cancellationToken);
            return TimedWord.FromSegments(segments);
        }, cancellationToken);
    }
}
