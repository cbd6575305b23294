using WavFusion.Core.Audio;
using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Cli;

/// <summary>The main job (`wavfusion demo`) end to end through the built and the published CLI.</summary>
public sealed class DemoCommandTests
{
    private static string SpeechLikeWav(TempDir dir, double seconds)
    {
        var random = new Random(3);
        var samples = new float[(int)(seconds * 16000)];
        for (int i = 0; i < samples.Length; i++)
            samples[i] = (float)(0.3 * Math.Sin(2 * Math.PI * 180 * i / 16000.0) * (0.5 + 0.5 * Math.Sin(2 * Math.PI * 3 * i / 16000.0)) + 0.01 * (random.NextDouble() - 0.5));
        string path = dir.File("speech.wav");
        WavFile.Write(path, new AudioClip(samples, 16000));
        return path;
    }

    [Fact]
    public void Demo_scores_every_sliding_window_of_a_file()
    {
        using var dir = new TempDir();
        var r = ProcessRunner.Cli("demo", "--audio", SpeechLikeWav(dir, 6), "--window", "4", "--hop", "1");
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains("3 windows, median latency", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("0.0-  4.0 s", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("2.0-  6.0 s", r.StdOut, StringComparison.Ordinal);
        // The bundled demo model is trained; the untrained fallback would say so.
        Assert.Contains("wavfusion-demo (version", r.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("UNTRAINED", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("labels neutral, happy, angry, sad, calm", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("DEMO MODEL: trained on synthetic SynthEmo data only", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void Demo_fuses_a_transcript_through_the_bundled_text_encoder()
    {
        using var dir = new TempDir();
        string wav = SpeechLikeWav(dir, 4);
        var audioOnly = ProcessRunner.Cli("demo", "--audio", wav);
        var withText = ProcessRunner.Cli("demo", "--audio", wav, "--transcript", "I love the garden, it made today wonderful!");
        Assert.True(withText.ExitCode == 0, withText.All);
        Assert.Contains("modalities: audio + text", withText.StdOut, StringComparison.Ordinal);
        // The text changes the fused scores of the same window.
        static string Scores(string stdout) => stdout.Split('\n').Single(l => l.Contains("0.0-  4.0 s", StringComparison.Ordinal)).Split('(')[0];
        Assert.NotEqual(Scores(audioOnly.StdOut), Scores(withText.StdOut));
    }

    [SkippableFact]
    public void Demo_without_audio_scores_the_bundled_sample_speech()
    {
        Skip.IfNot(Tools.Has("ffmpeg"), "ffmpeg is not installed (scripts/install-system-deps.sh installs it)");
        using var dir = new TempDir();
        // From a folder outside the repository, so the sample is found from the app's location, not the working directory.
        var r = ProcessRunner.Run("dotnet", [ProcessRunner.CliDll, "demo", "--hop", "4"], workingDirectory: dir.Path);
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains(Path.Combine(RepoPaths.Samples, "jfk.flac") + " (11.0 s)", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("3 windows, median latency", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void Demo_names_a_missing_file_and_bad_options()
    {
        var missing = ProcessRunner.Cli("demo", "--audio", "/nonexistent/x.wav");
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("/nonexistent/x.wav: audio file not found", missing.StdErr, StringComparison.Ordinal);
        var badHop = ProcessRunner.Cli("demo", "--hop", "0");
        Assert.Equal(2, badHop.ExitCode);
        Assert.Contains("--hop", badHop.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Published_app_finds_its_bundled_configuration()
    {
        using var dir = new TempDir();
        string wav = SpeechLikeWav(dir, 4.5);
        string app = Path.Combine(dir.Path, "app");
        var publish = ProcessRunner.Run("dotnet",
            ["publish", Path.Combine(RepoPaths.Root, "src", "WavFusion.Cli", "WavFusion.Cli.csproj"), "-c", ProcessRunner.Configuration, "--no-build", "-o", app, "--nologo", "-v", "q"],
            timeout: TimeSpan.FromMinutes(4));
        Assert.True(publish.ExitCode == 0, publish.All);
        Assert.True(File.Exists(Path.Combine(app, "config", "wavfusion-demo.json")), "config/ is not published with the app");
        Assert.True(File.Exists(Path.Combine(app, "models", "wavfusion-demo", "checkpoint.json")), "the demo model is not published with the app");
        Assert.True(File.Exists(Path.Combine(app, "models", "wavfusion-demo", "text-encoder", "vocab.json")), "the demo text encoder is not published with the app");
        Assert.True(File.Exists(Path.Combine(app, "samples", "jfk.flac")), "the demo's default sample speech is not published with the app");
        Assert.True(File.Exists(Path.Combine(app, "samples", "README.md")), "the sample's licence note is not published with the app");
        var r = ProcessRunner.Run(Path.Combine(app, "wavfusion"), ["demo", "--audio", wav], workingDirectory: dir.Path);
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains("windows, median latency", r.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("UNTRAINED", r.StdOut, StringComparison.Ordinal);
    }
}
