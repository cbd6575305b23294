using WavFusion.Inference.Encoders;
using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.Text;
using WavFusion.Models.Vision;
using WavFusion.Tests.Infrastructure;
using WavFusion.Tests.Parity;
using WavFusion.Tests.Text;
using WavFusion.Training.Features;
using static TorchSharp.torch;

namespace WavFusion.Tests.Features;

public sealed class FeatureEncoderLoaderTests
{
    [Fact]
    public void Roberta_folder_gives_the_models_last_hidden_state_with_special_tokens()
    {
        using var dir = new TempDir();
        string folder = TinyEncoderFolders.Roberta(dir.File("roberta"));
        using var encoder = FeatureEncoderLoader.LoadText(folder);
        Assert.Equal(TinyEncoderFolders.RobertaHidden, encoder.Dim);

        using var features = encoder.Encode("the cat");
        var tokenizer = RobertaTokenizer.FromFolder(folder);
        int tokens = tokenizer.TokenIds("the cat").Count + 2;
        Assert.Equal([tokens, TinyEncoderFolders.RobertaHidden], features.shape);
        Assert.Equal(ScalarType.Float32, features.dtype);
        Assert.False(features.requires_grad);

        using var model = RobertaModel.FromPretrained(folder);
        using var batch = tokenizer.Encode(["the cat"], 64);
        using var expected = model.forward(batch.InputIds, batch.AttentionMask);
        Close.Assert(expected[0], features, 1e-5, "RoBERTa features");

        // Longer than the position table: truncated to 66 − pad − 1 = 64 tokens, not an error.
        using var longText = encoder.Encode(string.Join(' ', Enumerable.Repeat("abc", 200)));
        Assert.Equal(64, longText.shape[0]);
    }

    [Fact]
    public void Model_hash_is_stable_and_covers_config_tokenizer_and_weights()
    {
        using var dir = new TempDir();
        string folder = TinyEncoderFolders.Roberta(dir.File("roberta"));
        string first, again;
        using (var e = FeatureEncoderLoader.LoadText(folder)) first = e.ModelHash;
        using (var e = FeatureEncoderLoader.LoadText(folder)) again = e.ModelHash;
        Assert.Equal(first, again);
        Assert.Matches("^[0-9a-f]{64}$", first);

        // A blank line changes the bytes but not the tokenizer: the hash is over the files, as stated.
        File.AppendAllText(Path.Combine(folder, "merges.txt"), "\n");
        string merges;
        using (var e = FeatureEncoderLoader.LoadText(folder)) merges = e.ModelHash;
        Assert.NotEqual(first, merges);

        string reseeded = TinyEncoderFolders.Roberta(dir.File("other-weights"), seed: 99);
        using var other = FeatureEncoderLoader.LoadText(reseeded);
        Assert.NotEqual(first, other.ModelHash);
    }

    [Fact]
    public void Bert_folder_loads_by_model_type()
    {
        using var dir = new TempDir();
        using var encoder = FeatureEncoderLoader.LoadText(TinyEncoderFolders.Bert(dir.File("bert")));
        using var features = encoder.Encode("hello worlds");
        // [CLS] hello world ##s [SEP]
        Assert.Equal([5, TextCheckpointFiles.SmallBert().HiddenSize], features.shape);
    }

    [Fact]
    public void Missing_or_foreign_text_folders_fail_naming_what_is_missing()
    {
        using var dir = new TempDir();
        Assert.Contains("no such folder", Assert.Throws<DirectoryNotFoundException>(() => FeatureEncoderLoader.LoadText(dir.File("absent"))).Message, StringComparison.Ordinal);

        string folder = TinyEncoderFolders.Roberta(dir.File("roberta"));
        File.Delete(Path.Combine(folder, "merges.txt"));
        var noMerges = Assert.Throws<FileNotFoundException>(() => FeatureEncoderLoader.LoadText(folder));
        Assert.Contains(folder, noMerges.Message, StringComparison.Ordinal);
        Assert.Contains("merges.txt", noMerges.Message, StringComparison.Ordinal);

        File.WriteAllText(Path.Combine(folder, "config.json"), """{"model_type":"gpt2"}""");
        Assert.Contains("'gpt2' is neither", Assert.Throws<ArgumentException>(() => FeatureEncoderLoader.LoadText(folder)).Message, StringComparison.Ordinal);
        File.Delete(Path.Combine(folder, "config.json"));
        Assert.Contains("config.json", Assert.Throws<FileNotFoundException>(() => FeatureEncoderLoader.LoadText(folder)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Efficientnet_folder_pools_normalised_frames_in_chunks_and_resizes_to_its_image_size()
    {
        using var dir = new TempDir();
        string folder = TinyEncoderFolders.EfficientNet(dir.File("effnet"));
        using var encoder = FeatureEncoderLoader.LoadVisual(folder);
        Assert.Equal(TinyEncoderFolders.VisualDim, encoder.Dim);
        Assert.Matches("^[0-9a-f]{64}$", encoder.ModelHash);

        int size = TinyEncoderFolders.ImageSize;
        var random = new Random(4);
        var frames = Enumerable.Range(0, 18).Select(_ => { var f = new byte[size * size * 3]; random.NextBytes(f); return f; }).ToList();
        using var all = encoder.Encode(frames, size);
        Assert.Equal([18, TinyEncoderFolders.VisualDim], all.shape);

        // Eval-mode BatchNorm makes frames independent: the chunk a frame lands in cannot matter.
        using var last = encoder.Encode(frames.Skip(16).ToList(), size);
        Close.Assert(all.narrow(0, 16, 2), last, 1e-4, "frames 16-17 alone vs in the second chunk");

        using var model = EfficientNetB0.FromCheckpoint(folder);
        using var pixels = ImageNetPreprocessing.NormalizeCrop(frames[0], size, size, ChannelOrder.Rgb).unsqueeze(0);
        using var expected = model.PooledInference(pixels);
        Close.Assert(expected[0], all[0], 1e-4, "frame 0 vs the model on ImageNet-normalised pixels");

        // Frames at another size are resized to the config's image_size first.
        using var small = encoder.Encode([new byte[16 * 16 * 3]], 16);
        Assert.Equal([1, TinyEncoderFolders.VisualDim], small.shape);
        using var none = encoder.Encode([], size);
        Assert.Equal([0, TinyEncoderFolders.VisualDim], none.shape);
        Assert.Contains("frame 0", Assert.Throws<ArgumentException>(() => encoder.Encode([new byte[10]], size)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_visual_files_fail_naming_the_folder()
    {
        using var dir = new TempDir();
        string folder = TinyEncoderFolders.EfficientNet(dir.File("effnet"));
        File.Delete(Path.Combine(folder, "model.safetensors"));
        var noWeights = Assert.Throws<CheckpointException>(() => FeatureEncoderLoader.LoadVisual(folder));
        Assert.Contains(folder, noWeights.Message, StringComparison.Ordinal);
        Assert.Contains("no weights found", noWeights.Message, StringComparison.Ordinal);
        File.Delete(Path.Combine(folder, "config.json"));
        var e = Assert.Throws<FileNotFoundException>(() => FeatureEncoderLoader.LoadVisual(folder));
        Assert.Contains("config.json", e.Message, StringComparison.Ordinal);
    }
}
