using WavFusion.Core.Checkpoints;
using WavFusion.Models.Wav2Vec2;
using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Wav2Vec2;

public sealed class Wav2Vec2FeatureExtractorTests
{
    [Fact]
    public void Normalize_matches_a_hand_computed_case()
    {
        // mean 2.5, population variance 1.25.
        using var t = new Wav2Vec2FeatureExtractor().Normalize([1, 2, 3, 4]);
        Assert.Equal(new long[] { 1, 4 }, t.shape);
        double s = Math.Sqrt(1.25 + 1e-7);
        var expected = new[] { -1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s };
        var actual = t.data<float>().ToArray();
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], actual[i], 6);
    }

    [Fact]
    public void Epsilon_keeps_silence_finite()
    {
        using var t = new Wav2Vec2FeatureExtractor().Normalize([0.25f, 0.25f, 0.25f]);
        Assert.All(t.data<float>().ToArray(), x => Assert.Equal(0f, x));
    }

    [Fact]
    public void Batch_normalises_each_utterance_over_its_own_samples_and_pads_with_zeros()
    {
        using var batch = new Wav2Vec2FeatureExtractor().NormalizeBatch([[1, 2, 3, 4], [10, 20]]);
        Assert.Equal(new long[] { 2, 4 }, batch.InputValues.shape);
        var v = batch.InputValues.data<float>().ToArray();
        double s = Math.Sqrt(25 + 1e-7);
        Assert.Equal(-5 / s, v[4], 6);
        Assert.Equal(5 / s, v[5], 6);
        Assert.Equal(0f, v[6]);
        Assert.Equal(0f, v[7]);
        Assert.Equal(new[] { true, true, true, true, true, true, false, false }, batch.SampleMask.data<bool>().ToArray());
    }

    [Fact]
    public void Normalisation_can_be_switched_off()
    {
        using var t = new Wav2Vec2FeatureExtractor { DoNormalize = false }.Normalize([1, 2]);
        Assert.Equal(new float[] { 1, 2 }, t.data<float>().ToArray());
    }

    [Fact]
    public void Wrong_sample_rate_empty_and_non_finite_audio_are_rejected()
    {
        var fe = new Wav2Vec2FeatureExtractor();
        var e = Assert.Throws<ArgumentException>(() => fe.Normalize([1, 2], 44100));
        Assert.Contains("16000", e.Message, StringComparison.Ordinal);
        Assert.Contains("44100", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => fe.Normalize([]));
        Assert.Contains("empty", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => fe.NormalizeBatch([[1, 2], []]));
        Assert.Contains("utterance 1 is empty", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => fe.NormalizeBatch([]));
        Assert.Contains("no utterances", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => fe.Normalize([1, float.NaN]));
        Assert.Contains("non-finite", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Preprocessor_config_sets_normalisation_and_mask_use()
    {
        using var dir = new TempDir();
        var defaults = Wav2Vec2FeatureExtractor.FromPretrained(dir.Path);
        Assert.True(defaults.DoNormalize);
        Assert.False(defaults.ReturnAttentionMask);
        File.WriteAllText(dir.File("preprocessor_config.json"),
            """{"do_normalize": false, "return_attention_mask": true, "sampling_rate": 16000, "feature_size": 1, "padding_value": 0.0}""");
        var fe = Wav2Vec2FeatureExtractor.FromPretrained(dir.Path);
        Assert.False(fe.DoNormalize);
        Assert.True(fe.ReturnAttentionMask);
        File.WriteAllText(dir.File("preprocessor_config.json"), """{"sampling_rate": 8000}""");
        var e = Assert.Throws<CheckpointException>(() => Wav2Vec2FeatureExtractor.FromPretrained(dir.Path));
        Assert.Contains("8000", e.Message, StringComparison.Ordinal);
        File.WriteAllText(dir.File("preprocessor_config.json"), """{"do_normalize": "yes"}""");
        e = Assert.Throws<CheckpointException>(() => Wav2Vec2FeatureExtractor.FromPretrained(dir.Path));
        Assert.Contains("preprocessor_config.json", e.Message, StringComparison.Ordinal);
    }
}
