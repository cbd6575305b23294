using System.Diagnostics;

namespace WavFusion.Core.Audio;

/// <summary>
/// Loads any audio (or the audio track of any video) as mono float at a requested rate. WAV files already
/// at that rate are read directly; everything else goes through ffmpeg, which resamples with its default
/// (swr) filter.
/// </summary>
public static class AudioFile
{
    public static AudioClip Load(string path, int sampleRate = 16000)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: audio file not found", path);
        if (path.EndsWith(".wav", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var clip = WavFile.Read(path);
                if (clip.SampleRate == sampleRate) return clip;
            }
            catch (InvalidDataException)
            {
                // Not a WAV we parse (e.g. compressed): let ffmpeg try.
            }
        }
        return DecodeWithFfmpeg(path, sampleRate);
    }

    public static AudioClip DecodeWithFfmpeg(string path, int sampleRate, double? startSeconds = null, double? durationSeconds = null)
    {
        var psi = new ProcessStartInfo("ffmpeg")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-nostdin", "-hide_banner", "-loglevel", "error" }) psi.ArgumentList.Add(a);
        if (startSeconds is { } ss) { psi.ArgumentList.Add("-ss"); psi.ArgumentList.Add(ss.ToString("R", System.Globalization.CultureInfo.InvariantCulture)); }
        if (durationSeconds is { } t) { psi.ArgumentList.Add("-t"); psi.ArgumentList.Add(t.ToString("R", System.Globalization.CultureInfo.InvariantCulture)); }
        foreach (var a in new[] { "-i", path, "-vn", "-ac", "1", "-ar", sampleRate.ToString(System.Globalization.CultureInfo.InvariantCulture), "-f", "f32le", "-" })
            psi.ArgumentList.Add(a);

        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException("ffmpeg did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"{path}: decoding needs ffmpeg on PATH (scripts/install-system-deps.sh installs it): {e.Message}", e);
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            using var ms = new MemoryStream();
            process.StandardOutput.BaseStream.CopyTo(ms);
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                // ffmpeg's last line is its conclusion; the lines before it repeat the path and stream details.
                string reason = stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? $"exit code {process.ExitCode}";
                throw new InvalidDataException($"{path}: not audio that ffmpeg can decode ({reason})");
            }
            var bytes = ms.GetBuffer().AsSpan(0, (int)ms.Length);
            var samples = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();
            if (samples.Length == 0) throw new InvalidDataException($"{path}: no audio samples decoded");
            return new AudioClip(samples, sampleRate);
        }
    }
}
