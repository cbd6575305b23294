using System.Runtime.InteropServices;

namespace WavFusion.Live.Capture;

/// <summary>The few libasound calls capture needs (alsa/pcm.h). Every function returns a negative errno on failure.</summary>
internal static partial class AlsaNative
{
    public const string Library = "libasound.so.2";

    public const int StreamCapture = 1;
    public const int ModeNonBlock = 1;
    public const int AccessRwInterleaved = 3;

    public const int FormatS16Le = 2;
    public const int FormatS32Le = 10;
    public const int FormatFloatLe = 14;
    public const int FormatS24_3Le = 32;

    public const int EAGAIN = 11;
    public const int ENODEV = 19;
    public const int EPIPE = 32;
    public const int ESTRPIPE = 86;

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int snd_pcm_open(out nint pcm, string name, int stream, int mode);

    [LibraryImport(Library)]
    public static partial int snd_pcm_close(nint pcm);

    [LibraryImport(Library)]
    public static partial nint snd_strerror(int errnum);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_malloc(out nint parameters);

    [LibraryImport(Library)]
    public static partial void snd_pcm_hw_params_free(nint parameters);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_any(nint pcm, nint parameters);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_set_access(nint pcm, nint parameters, int access);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_set_rate_resample(nint pcm, nint parameters, uint enable);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_test_format(nint pcm, nint parameters, int format);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_set_format(nint pcm, nint parameters, int format);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_test_channels(nint pcm, nint parameters, uint channels);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_set_channels(nint pcm, nint parameters, uint channels);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_set_channels_near(nint pcm, nint parameters, ref uint channels);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_test_rate(nint pcm, nint parameters, uint rate, int dir);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_set_rate(nint pcm, nint parameters, uint rate, int dir);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_set_rate_near(nint pcm, nint parameters, ref uint rate, ref int dir);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_set_period_time_near(nint pcm, nint parameters, ref uint microseconds, ref int dir);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_set_buffer_time_near(nint pcm, nint parameters, ref uint microseconds, ref int dir);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params(nint pcm, nint parameters);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_get_format(nint parameters, out int format);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_get_channels(nint parameters, out uint channels);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_get_rate(nint parameters, out uint rate, out int dir);

    [LibraryImport(Library)]
    public static partial int snd_pcm_hw_params_get_period_size(nint parameters, out nuint frames, out int dir);

    [LibraryImport(Library)]
    public static partial int snd_pcm_nonblock(nint pcm, int nonblock);

    [LibraryImport(Library)]
    public static partial int snd_pcm_prepare(nint pcm);

    [LibraryImport(Library)]
    public static partial int snd_pcm_wait(nint pcm, int timeoutMs);

    [LibraryImport(Library)]
    public static unsafe partial nint snd_pcm_readi(nint pcm, void* buffer, nuint frames);

    [LibraryImport(Library)]
    public static partial int snd_pcm_recover(nint pcm, int err, int silent);

    [LibraryImport(Library)]
    public static partial int snd_pcm_drop(nint pcm);

    public static string Error(int err) => Marshal.PtrToStringUTF8(snd_strerror(err)) ?? $"error {err}";

    /// <summary>Whether libasound can be loaded here, and why not.</summary>
    public static bool IsAvailable(out string reason)
    {
        if (!OperatingSystem.IsLinux())
        {
            reason = "ALSA exists on Linux only";
            return false;
        }
        if (NativeLibrary.TryLoad(Library, out var handle))
        {
            NativeLibrary.Free(handle);
            reason = "";
            return true;
        }
        reason = $"{Library} cannot be loaded (Debian/Ubuntu: apt-get install libasound2, or scripts/install-system-deps.sh)";
        return false;
    }
}
