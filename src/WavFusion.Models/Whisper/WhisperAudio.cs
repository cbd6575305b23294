namespace WavFusion.Models.Whisper;

/// <summary>Fixed front-end constants of every Whisper model (openai-whisper <c>audio.py</c>).</summary>
public static class WhisperAudio
{
    public const int SampleRate = 16000;
    public const int NFft = 400;
    public const int HopLength = 160;
    public const int ChunkSeconds = 30;
    public const int ChunkSamples = ChunkSeconds * SampleRate;
    public const int ChunkFrames = ChunkSamples / HopLength;
    /// <summary>Seconds per encoder position: conv2 halves the 10 ms mel frame rate.</summary>
    public const double SecondsPerToken = 2.0 * HopLength / SampleRate;
}
