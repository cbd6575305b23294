using TorchSharp;

using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Decoding;

namespace WavFusion.Speech.Streaming;

/// <summary>
/// Hypotheses from Whisper: one window, greedy, with timestamps, prompted with the committed text.
/// The buffer is encoded at its own length rounded up to <paramref name="audioContextRounding"/> frames
/// (100 = 1 s) rather than as a padded 30 s window: streaming buffers stay well under 30 s, and the
/// encoder and cross-attention cost scale with the frames encoded. 0 encodes full windows.
/// </summary>
public sealed class WhisperHypothesisSource(WhisperTranscriber transcriber, WhisperDecodingOptions? options = null, int audioContextRounding = WhisperHypothesisSource.DefaultAudioContextRounding) : IHypothesisSource
{
    public const int DefaultAudioContextRounding = 100;

    private readonly WhisperDecodingOptions _options = (options ?? new WhisperDecodingOptions()) with
    {
        BeamSize = null,
        Temperatures = [0.0],
        ConditionOnPreviousText = false,
        AudioContextRounding = audioContextRounding,
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
