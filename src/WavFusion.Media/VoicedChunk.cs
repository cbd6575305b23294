namespace WavFusion.Media;

/// <summary>A chunk of audio and the stream's voice-activity decision for it (one detector per stream decides once).</summary>
public sealed record VoicedChunk(AudioChunk Chunk, SpeechActivity Activity);
