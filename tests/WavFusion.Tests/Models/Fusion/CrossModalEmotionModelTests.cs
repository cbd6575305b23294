using TorchSharp;
using WavFusion.Models.CrossModal;
using WavFusion.Models.Fusion;
using static TorchSharp.torch;
using WavFusion.Models.Layers;

namespace WavFusion.Tests.Fusion;

public sealed class CrossModalEmotionModelTests
{
    private static CrossModalConfig Tiny(CrossModalMode mode) => new()
    {
        Mode = mode, AudioDim = 10, TextDim = 6, ModelDim = 8, NumHeads = 2, ClassifierHidden = 5, Dropout = 0.1,
        LabelNames = ["neutral", "happy", "sad"],
    };

    private static ModalitySequence Stream(int b, int t, int d, params int[] lengths)
    {
        var mask = torch.arange(t).unsqueeze(0).lt(torch.tensor(lengths.Select(l => (long)l).ToArray()).unsqueeze(1));
        return new ModalitySequence(torch.randn(b, t, d), mask);
    }

    [Theory]
    [InlineData(CrossModalMode.AudioText, 32)]
    [InlineData(CrossModalMode.AudioOnly, 16)]
    [InlineData(CrossModalMode.TextOnly, 16)]
    public void Every_mode_gives_finite_probabilities_from_statistics_pooled_streams(CrossModalMode mode, int pooledWidth)
    {
        using var _ = torch.NewDisposeScope();
        torch.manual_seed(9);
        using var model = new CrossModalEmotionModel(Tiny(mode));
        model.eval();
        var output = model.call(new CrossModalInput(Stream(3, 7, 10, 7, 4, 1), Stream(3, 5, 6, 5, 2, 3)));
        Assert.Equal(new long[] { 3, 3 }, output.Logits.shape);
        Assert.Equal(new long[] { 3, pooledWidth }, output.Pooled.shape);
        Assert.True(output.Probabilities.isfinite().all().item<bool>());
        Assert.True(output.Probabilities.sum(-1).allclose(torch.ones(3), atol: 1e-5));
    }

    [Fact]
    public void Unimodal_models_hold_only_their_stream_and_need_only_it()
    {
        using var _ = torch.NewDisposeScope();
        using var audio = new CrossModalEmotionModel(Tiny(CrossModalMode.AudioOnly));
        Assert.DoesNotContain(audio.state_dict().Keys, k => k.StartsWith("text_", StringComparison.Ordinal));
        Assert.Equal(new long[] { 3, 3 }, audio.call(new CrossModalInput(Stream(3, 4, 10, 4, 4, 2), null)).Logits.shape);
        using var text = new CrossModalEmotionModel(Tiny(CrossModalMode.TextOnly));
        Assert.DoesNotContain(text.state_dict().Keys, k => k.StartsWith("audio_", StringComparison.Ordinal));
        using var both = new CrossModalEmotionModel(Tiny(CrossModalMode.AudioText));
        Assert.Throws<ArgumentException>(() => both.call(new CrossModalInput(Stream(3, 4, 10, 4, 4, 2), null)));
        Assert.Throws<ArgumentException>(() => both.call(new CrossModalInput(Stream(3, 4, 9, 4, 4, 2), Stream(3, 5, 6, 5, 2, 3))));
    }

    [Fact]
    public void Cross_attention_and_pooling_ignore_padded_frames()
    {
        using var _ = torch.NewDisposeScope();
        torch.manual_seed(10);
        using var model = new CrossModalEmotionModel(Tiny(CrossModalMode.AudioText));
        model.eval();
        var audio = Stream(2, 6, 10, 6, 3);
        var text = Stream(2, 4, 6, 4, 2);
        var full = model.call(new CrossModalInput(audio, text)).Probabilities;
        var alone = model.call(new CrossModalInput(
            new ModalitySequence(audio.Features[1..2, ..3]), new ModalitySequence(text.Features[1..2, ..2]))).Probabilities;
        Assert.True(full[1..2].allclose(alone, atol: 1e-5));
    }

    [Fact]
    public void Gradients_reach_every_parameter_and_the_config_round_trips_through_json()
    {
        using var _ = torch.NewDisposeScope();
        var config = Tiny(CrossModalMode.AudioText);
        using var model = new CrossModalEmotionModel(config);
        model.train();
        var output = model.call(new CrossModalInput(Stream(3, 7, 10, 7, 4, 2), Stream(3, 5, 6, 5, 2, 3)));
        nn.functional.cross_entropy(output.Logits, torch.tensor(new long[] { 0, 1, 2 })).backward();
        foreach (var (name, p) in model.named_parameters())
            Assert.True(p.grad is not null && p.grad.abs().sum().item<float>() > 0, $"{name} got no gradient");

        var path = Path.Combine(Path.GetTempPath(), $"crossmodal-{Guid.NewGuid():N}.json");
        try
        {
            File.WriteAllText(path, config.ToJson());
            var loaded = CrossModalConfig.Load(path);
            Assert.Equal(config.Mode, loaded.Mode);
            Assert.Equal(config.LabelNames, loaded.LabelNames);
            Assert.Equal(config.ModelDim, loaded.ModelDim);
            Assert.Contains("\"mode\": \"audio_text\"", File.ReadAllText(path), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
