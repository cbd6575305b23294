using WavFusion.Live.Pipeline;

namespace WavFusion.Live.Capture;

/// <summary>Chooses the platform's audio source, so callers depend on <see cref="IAudioSource"/> alone.</summary>
public static class AudioSources
{
    /// <summary>The microphone: ALSA on Linux, WASAPI on Windows.</summary>
    public static IAudioSource Microphone(MicrophoneOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (OperatingSystem.IsLinux()) return new AlsaAudioSource(options);
        if (OperatingSystem.IsWindows()) return new WasapiAudioSource(options);
        throw new PlatformNotSupportedException(
            $"{options.Device}: microphone capture exists for Linux (ALSA) and Windows (WASAPI) only, not {System.Runtime.InteropServices.RuntimeInformation.OSDescription}; stream a file or push audio over gRPC instead");
    }

    /// <summary>Any audio or video file ffmpeg reads, paced like a microphone when <paramref name="realtime"/>.</summary>
    public static IAudioSource File(string path, bool realtime, int chunkMs = 32) => new AudioFileSource(path, realtime, chunkMs);
}
