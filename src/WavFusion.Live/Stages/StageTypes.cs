using WavFusion.Media;

namespace WavFusion.Live.Stages;

/// <summary>A chunk of audio and the stream's voice-activity decision for it (one detector per stream decides once).</summary>
public sealed record VoicedChunk(AudioChunk Chunk, SpeechActivity Activity);

/// <summary>Speech of a stream began or ended at <see cref="StreamTime"/>.</summary>
public sealed record SpeechBoundary(bool IsBegin, TimeSpan StreamTime);

/// <summary>
/// One face seen at <see cref="StreamTime"/>: the EfficientNet features of its crop, computed once per frame and
/// shared by every window that contains the frame.
/// </summary>
public sealed record FaceObservation(TimeSpan StreamTime, float[] Features);

/// <summary>
/// A window to score: its audio (16 kHz mono) between <see cref="Start"/> and <see cref="End"/> in stream time,
/// whether it is the final window of a VAD utterance or an interim one, the transcript and faces whose times
/// fall inside it, and the wall-clock timestamp (<see cref="TimeProvider.GetTimestamp"/>) at which its last
/// sample arrived, from which event latency is measured.
/// </summary>
public sealed record EmotionWindow(
    TimeSpan Start,
    TimeSpan End,
    float[] Audio,
    bool IsFinal,
    string? Transcript,
    IReadOnlyList<FaceObservation> Faces,
    long LastSampleTimestamp);
