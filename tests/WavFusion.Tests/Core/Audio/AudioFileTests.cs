using WavFusion.Core.Audio;
using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Audio;

public sealed class AudioFileTests
{
    [Fact]
    public void Wav_round_trip_keeps_samples_to_16_bit_precision()
    {
        using var dir = new TempDir();
        var samples = Enumerable.Range(0, 1600).Select(i => (float)Math.Sin(i * 0.05) * 0.8f).ToArray();
        WavFile.Write(dir.File("a.wav"), new AudioClip(samples, 16000));
        var clip = AudioFile.Load(dir.File("a.wav"));
        Assert.Equal(16000, clip.SampleRate);
        Assert.Equal(samples.Length, clip.Samples.Length);
        Assert.All(samples.Zip(clip.Samples), p => Assert.True(Math.Abs(p.First - p.Second) < 1e-4));
    }

    [SkippableFact]
    public void Wav_at_another_rate_is_resampled_by_ffmpeg()
    {
        Skip.IfNot(Tools.Has("ffmpeg"), "ffmpeg is not installed (scripts/install-system-deps.sh installs it)");
        using var dir = new TempDir();
        var samples = Enumerable.Range(0, 8000).Select(i => (float)Math.Sin(i * 0.1) * 0.5f).ToArray();
        WavFile.Write(dir.File("a8k.wav"), new AudioClip(samples, 8000));
        var clip = AudioFile.Load(dir.File("a8k.wav"), 16000);
        Assert.Equal(16000, clip.SampleRate);
        Assert.InRange(clip.Samples.Length, 15900, 16100);
    }

    [SkippableFact]
    public void Real_speech_flac_decodes_to_16_khz_mono()
    {
        Skip.IfNot(Tools.Has("ffmpeg"), "ffmpeg is not installed (scripts/install-system-deps.sh installs it)");
        var clip = AudioFile.Load(Path.Combine(RepoPaths.Samples, "jfk.flac"), 16000);
        Assert.InRange(clip.DurationSeconds, 10.5, 11.5);
        double rms = Math.Sqrt(clip.Samples.Average(s => (double)s * s));
        Assert.InRange(rms, 0.01, 0.5);
    }

    [Fact]
    public void Bad_inputs_name_the_problem()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("x.wav"), "hello");
        Assert.Contains("not a RIFF/WAVE", Assert.Throws<InvalidDataException>(() => WavFile.Read(dir.File("x.wav"))).Message);
        Assert.Throws<FileNotFoundException>(() => AudioFile.Load(dir.File("absent.wav")));
        var wrongRate = Assert.Throws<ArgumentException>(() => new AudioClip(new float[10], 44100).Require(16000, "mic"));
        Assert.Contains("44100 Hz", wrongRate.Message);
        var empty = Assert.Throws<ArgumentException>(() => new AudioClip([], 16000).Require(16000, "mic"));
        Assert.Contains("no samples", empty.Message);
    }
}
