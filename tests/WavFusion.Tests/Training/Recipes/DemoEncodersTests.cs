using WavFusion.Inference.Encoders;
using TorchSharp;
using WavFusion.Tests.Fusion;
using WavFusion.Tests.Infrastructure;
using WavFusion.Training.Features;
using WavFusion.Training.Recipes;

namespace WavFusion.Tests.Recipes;

[Collection(SeededTorchCollection.Name)]
public sealed class DemoEncodersTests
{
    private static readonly string[] Corpus =
    [
        "I love the garden, it made today wonderful!", "Who ruined the garden? This is outrageous!",
        "I miss the garden so much.", "The meeting about the garden moved to Monday.", "I love the concert.",
    ];

    [Fact]
    public void Text_encoder_folder_loads_like_a_downloaded_roberta_and_is_reproducible_from_its_seed()
    {
        using var dir = new TempDir();
        var shape = new DemoEncoders.TextEncoderShape { HiddenSize = 32, Layers = 1, Heads = 2, IntermediateSize = 64, MaxTokens = 32, MaxMerges = 100 };
        DemoEncoders.WriteTextEncoder(dir.File("a"), Corpus, seed: 3, shape);
        DemoEncoders.WriteTextEncoder(dir.File("b"), Corpus, seed: 3, shape);
        DemoEncoders.WriteTextEncoder(dir.File("c"), Corpus, seed: 4, shape);
        Assert.Equal(File.ReadAllBytes(dir.File("a/model.safetensors")), File.ReadAllBytes(dir.File("b/model.safetensors")));
        Assert.NotEqual(File.ReadAllBytes(dir.File("a/model.safetensors")), File.ReadAllBytes(dir.File("c/model.safetensors")));

        using var encoder = FeatureEncoderLoader.LoadText(dir.File("a"));
        Assert.Equal(32, encoder.Dim);
        using var love = encoder.Encode("I love the garden");
        // <s> + four whole-word tokens learnt from the corpus + </s>.
        Assert.Equal(new long[] { 6, 32 }, love.shape);
        Assert.True(torch.isfinite(love).all().item<bool>());
        using var miss = encoder.Encode("I miss the garden");
        Assert.True((love[2] - miss[2]).abs().max().item<float>() > 1e-3, "different words must give different features");
    }

    [Fact]
    public void Visual_encoder_has_calibrated_batchnorm_statistics_and_pools_to_a_quarter_width_head()
    {
        using var dir = new TempDir();
        var random = new Random(11);
        const int size = 32;
        var frames = Enumerable.Range(0, 12).Select(_ =>
        {
            var f = new byte[size * size * 3];
            random.NextBytes(f);
            return f;
        }).ToList();
        var shape = new DemoEncoders.VisualEncoderShape { ImageSize = size, CalibrationBatches = 3 };
        DemoEncoders.WriteVisualEncoder(dir.Path, frames, size, seed: 5, shape);

        using var encoder = FeatureEncoderLoader.LoadVisual(dir.Path);
        Assert.Equal(320, encoder.Dim);
        using var features = encoder.Encode(frames, size);
        Assert.Equal(new long[] { 12, 320 }, features.shape);
        Assert.True(torch.isfinite(features).all().item<bool>());
        // Calibrated statistics keep the pooled activations in a sane range and different images apart.
        Assert.True(features.abs().mean().item<float>() is > 1e-3f and < 100f, $"mean |feature| {features.abs().mean().item<float>()}");
        Assert.True(features.std(0).mean().item<float>() > 1e-4f, "features do not vary between images");
    }

    [Fact]
    public void Empty_inputs_are_refused_with_the_reason()
    {
        using var dir = new TempDir();
        Assert.Contains("corpus is empty", Assert.Throws<ArgumentException>(() => DemoEncoders.WriteTextEncoder(dir.Path, [], 1)).Message, StringComparison.Ordinal);
        Assert.Contains("calibration", Assert.Throws<ArgumentException>(() => DemoEncoders.WriteVisualEncoder(dir.Path, [], 32, 1)).Message, StringComparison.Ordinal);
    }
}
