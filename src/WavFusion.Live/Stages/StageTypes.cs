using WavFusion.Media;

namespace WavFusion.Live.Stages;

/// <summary>
/// An item of a session's window stream, in stream order: a window to score, or a speech boundary. Boundaries travel
/// with the windows through the face join and the scoring stage, so a session's events come out in stream-time order
/// (a speech begin before the utterance's results, its end after its final result) however far scoring lags.
/// </summary>
public abstract record WindowStreamItem;

/// <summary>Speech of a stream began or ended at <see cref="StreamTime"/>.</summary>
public sealed record SpeechBoundary(bool IsBegin, TimeSpan StreamTime) : WindowStreamItem;

/// <summary>
/// One face seen at <see cref="StreamTime"/>: the EfficientNet features of its crop, computed once per frame and
/// shared by every window that contains the frame.
/// </summary>
public sealed record FaceObservation(TimeSpan StreamTime, float[] Features);

/// <summary>
/// A window to score: its audio (16 kHz mono) between <see cref="Start"/> and <see cref="End"/> in stream time,
/// whether it is the final window of a VAD utterance or an interim one, the transcript and faces whose times
/// fall inside it, and the wall-clock timestamp (<see cref="TimeProvider.GetTimestamp"/>) at which its last
/// sample arrived, from which event latency is measured, and the timestamp at which the window was complete
/// (<see cref="ReadyTimestamp"/>: the same for interim windows; for a final window ended by the detector, the arrival
/// of the audio on which it decided the utterance had ended), from which processing time is measured.
/// </summary>
public sealed record EmotionWindow(
    TimeSpan Start,
    TimeSpan End,
    float[] Audio,
    bool IsFinal,
    string? Transcript,
    IReadOnlyList<FaceObservation> Faces,
    long LastSampleTimestamp,
    long ReadyTimestamp) : WindowStreamItem;
