using WavFusion.Core.Audio;
using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Datasets;

/// <summary>Small real media files for the dataset trees.</summary>
internal static class MediaFixtures
{
    public static bool HaveFfmpeg { get; } = Tools.Has("ffmpeg");

    public const string NoFfmpeg = "ffmpeg is not on PATH (scripts/install-system-deps.sh installs it): video clips cannot be made";

    /// <summary>A 16 kHz mono tone, distinct per <paramref name="seed"/> so that files differ.</summary>
    public static void WriteWav(string path, double seconds = 0.1, int seed = 0)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        int n = (int)(seconds * 16000);
        var samples = new float[n];
        double freq = 220 + 10 * seed;
        for (int i = 0; i < n; i++) samples[i] = (float)(0.3 * Math.Sin(2 * Math.PI * freq * i / 16000.0));
        WavFile.Write(path, new AudioClip(samples, 16000));
    }

    /// <summary>A test-pattern video with a sine audio track, encoded by ffmpeg (container from the extension).</summary>
    public static void MakeClip(string path, double seconds = 1.0, string size = "64x48")
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string d = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var r = ProcessRunner.Run("ffmpeg", ["-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", $"testsrc=size={size}:rate=5:duration={d}",
            "-f", "lavfi", "-i", $"sine=frequency=440:sample_rate=16000:duration={d}",
            "-c:v", "mpeg4", "-c:a", path.EndsWith(".avi", StringComparison.Ordinal) ? "pcm_s16le" : "aac", "-shortest", path]);
        Assert.True(r.ExitCode == 0, $"ffmpeg failed making {path}: {r.StdErr}");
    }
}
