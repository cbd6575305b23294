namespace WavFusion.Media;

/// <summary>
/// A voice-activity decision over a span of stream time: whether it is speech, and how sure the detector is
/// (the model's probability for Silero; an energy ratio clamped to [0, 1] for the energy gate).
/// </summary>
public readonly record struct SpeechActivity(TimeSpan Start, TimeSpan End, bool IsSpeech, float Probability);
