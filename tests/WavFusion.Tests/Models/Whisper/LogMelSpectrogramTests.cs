using TorchSharp;
using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Decoding;
using WavFusion.Speech.Streaming;
using WavFusion.Tests.Infrastructure;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace WavFusion.Tests.Whisper;

public sealed class LogMelSpectrogramTests(ITestOutputHelper log)
{
    private static string FiltersPath => Path.Combine(RepoPaths.ReferenceFixtures, "whisper-mel-filters.npz");

    [SkippableTheory]
    [InlineData(80)]
    [InlineData(128)]
    public void Computed_slaney_filter_bank_matches_openai_assets(int melBins)
    {
        Skip.IfNot(File.Exists(FiltersPath), $"{FiltersPath} not present");
        var reference = NpyArchive.Read(FiltersPath)[$"mel_{melBins}"];
        Assert.Equal(new long[] { melBins, WhisperAudio.NFft / 2 + 1 }, reference.Shape);
        var ours = MelFilterBank.Create(WhisperAudio.SampleRate, WhisperAudio.NFft, melBins);
        Assert.Equal(reference.Values.Length, ours.Length);
        double maxDiff = 0, maxValue = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(ours[i] - reference.Values[i]));
            maxValue = Math.Max(maxValue, Math.Abs(reference.Values[i]));
        }
        log.WriteLine($"mel_{melBins}: max |diff| {maxDiff:E2}, max value {maxValue:E2}");
        Assert.True(maxDiff <= 1e-6 * maxValue, $"mel_{melBins}: max |diff| {maxDiff:E3} vs max value {maxValue:E3}");
    }

    [Fact]
    public void Slaney_scale_is_linear_below_1kHz_and_logarithmic_above()
    {
        Assert.Equal(15.0, MelFilterBank.HzToMel(1000), 12);
        Assert.Equal(3.0, MelFilterBank.HzToMel(200), 12);
        Assert.Equal(15.0 + 27.0, MelFilterBank.HzToMel(6400), 9);
        Assert.Equal(4321.0, MelFilterBank.MelToHz(MelFilterBank.HzToMel(4321.0)), 9);
    }

    [Fact]
    public void Frames_drop_the_last_stft_frame_and_window_pads_to_30_seconds()
    {
        using var mel = new LogMelSpectrogram(80);
        var audio = Sine(440, 24000);
        using var features = mel.Compute(audio);
        Assert.Equal(new long[] { 80, 150 }, features.shape);
        using var window = mel.ComputeWindow(audio);
        Assert.Equal(new long[] { 80, WhisperAudio.ChunkFrames }, window.shape);
        using var longWindow = mel.ComputeWindow(new float[WhisperAudio.ChunkSamples + 12345]);
        Assert.Equal(new long[] { 80, WhisperAudio.ChunkFrames }, longWindow.shape);
    }

    [Fact]
    public void Tone_energy_lands_in_the_band_around_its_frequency_and_floor_is_max_minus_8()
    {
        using var mel = new LogMelSpectrogram(80);
        using var features = mel.Compute(Sine(1000, 16000));
        using var scope = torch.NewDisposeScope();
        var bandEnergy = features.mean([1]);
        long loudest = bandEnergy.argmax().item<long>();
        // The band whose centre is nearest 1 kHz on the Slaney scale.
        double melMax = MelFilterBank.HzToMel(8000);
        long expected = (long)Math.Round(MelFilterBank.HzToMel(1000) / melMax * 81) - 1;
        Assert.InRange(loudest, expected - 1, expected + 1);
        double max = features.max().item<float>();
        double min = features.min().item<float>();
        Assert.True(max - min <= 2.0 + 1e-6, $"dynamic range {(max - min) * 4} exceeds 8 log10 units");
    }

    [Fact]
    public void Too_short_audio_and_wrong_rank_are_rejected()
    {
        using var mel = new LogMelSpectrogram(80);
        var e = Assert.Throws<ArgumentException>(() => mel.Compute(new float[100]));
        Assert.Contains("100 samples", e.Message, StringComparison.Ordinal);
        using var twoD = torch.zeros(2, 1000);
        Assert.Throws<ArgumentException>(() => mel.Compute(twoD));
        Assert.Throws<ArgumentException>(() => new LogMelSpectrogram(80, new float[10]));
    }

    internal static float[] Sine(double hz, int samples) =>
        Enumerable.Range(0, samples).Select(i => (float)(0.5 * Math.Sin(2 * Math.PI * hz * i / WhisperAudio.SampleRate))).ToArray();
}
