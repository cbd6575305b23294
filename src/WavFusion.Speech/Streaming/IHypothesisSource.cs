using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Decoding;

namespace WavFusion.Speech.Streaming;

/// <summary>
/// Produces the words heard in a buffer of audio (buffer-relative seconds), given committed text as a prompt:
/// the ASR backend behind <see cref="StreamingTranscriber"/>.
/// </summary>
public interface IHypothesisSource
{
    Task<IReadOnlyList<TimedWord>> TranscribeAsync(float[] audio, string prompt, CancellationToken cancellationToken);
}
