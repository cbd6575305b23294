using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.Text;
using WavFusion.Models.Vision;
using WavFusion.Training.Data;
using WavFusion.Training.Features;
using WavFusion.Training.SynthEmo;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Training.Recipes;

/// <summary>
/// The frozen auxiliary encoders of the bundled demo model. No pretrained RoBERTa or EfficientNet can be
/// shipped in a 20 MB demo, so the demo uses small encoders of the same architectures, randomly initialised
/// from a seed and frozen, written as ordinary Hugging Face style folders (config.json, model.safetensors,
/// tokenizer files) that the feature loaders read exactly like downloaded ones. A frozen random encoder keeps
/// token and image identity, which is all the trained branches need on SynthEmo; users who have the real
/// encoders point the experiment config at them instead.
/// </summary>
public static class DemoEncoders
{
    /// <summary>The demo text encoder's shape: a two-layer, 128-wide RoBERTa.</summary>
    public sealed record TextEncoderShape
    {
        public int HiddenSize { get; init; } = 128;
        public int Layers { get; init; } = 2;
        public int Heads { get; init; } = 4;
        public int IntermediateSize { get; init; } = 256;
        public int MaxTokens { get; init; } = 128;
        public int MaxMerges { get; init; } = 1500;
    }

    /// <summary>
    /// Learns a byte-level BPE vocabulary on <paramref name="corpus"/> and writes a randomly initialised RoBERTa
    /// (Hugging Face's initialisation: N(0, 0.02) weights and embeddings, zero biases, unit LayerNorm gains)
    /// with config.json, vocab.json and merges.txt into <paramref name="folder"/>.
    /// </summary>
    public static void WriteTextEncoder(string folder, IEnumerable<string> corpus, int seed, TextEncoderShape? shape = null)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        shape ??= new TextEncoderShape();
        var texts = corpus.ToList();
        if (texts.Count == 0) throw new ArgumentException("the tokenizer corpus is empty", nameof(corpus));
        var bpe = ByteLevelBpeTrainer.Train(texts, shape.MaxMerges);
        Directory.CreateDirectory(folder);
        bpe.Save(folder);

        // RoBERTa numbers positions from pad_token_id + 1, so it needs two more position rows than tokens.
        var config = new JsonObject
        {
            ["model_type"] = "roberta",
            ["architectures"] = new JsonArray("RobertaModel"),
            ["vocab_size"] = bpe.Size,
            ["hidden_size"] = shape.HiddenSize,
            ["num_hidden_layers"] = shape.Layers,
            ["num_attention_heads"] = shape.Heads,
            ["intermediate_size"] = shape.IntermediateSize,
            ["hidden_act"] = "gelu",
            ["max_position_embeddings"] = shape.MaxTokens + 2,
            ["type_vocab_size"] = 1,
            ["pad_token_id"] = bpe.Vocab["<pad>"],
            ["bos_token_id"] = bpe.Vocab["<s>"],
            ["eos_token_id"] = bpe.Vocab["</s>"],
            ["layer_norm_eps"] = 1e-5,
            ["initializer_range"] = 0.02,
            ["hidden_dropout_prob"] = 0.0,
            ["attention_probs_dropout_prob"] = 0.0,
            ["wavfusion_note"] = $"Random-init frozen demo encoder (seed {seed}); not a pretrained RoBERTa.",
        };
        string configPath = Path.Combine(folder, "config.json");
        File.WriteAllText(configPath, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");

        torch.manual_seed(seed);
        using var model = new RobertaModel(RobertaConfig.Load(configPath));
        using (torch.no_grad())
        {
            foreach (var (name, p) in model.named_parameters())
            {
                if (name.EndsWith("LayerNorm.weight", StringComparison.Ordinal)) p.fill_(One);
                else if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
                else p.normal_(0, 0.02);
            }
            // Hugging Face zeroes the padding rows of the embedding tables.
            model.embeddings.word_embeddings.weight![bpe.Vocab["<pad>"]].zero_();
            model.embeddings.position_embeddings.weight![bpe.Vocab["<pad>"]].zero_();
        }
        var weights = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        SafeTensorsWriter.Write(Path.Combine(folder, "model.safetensors"), weights,
            new Dictionary<string, string> { ["format"] = "pt", ["wavfusion"] = "random-init demo text encoder" });
    }

    /// <summary>The demo image encoder's shape: EfficientNet-B0's layout at width 0.25 and depth 0.34 (320-d pooled), 112² input.</summary>
    public sealed record VisualEncoderShape
    {
        public double WidthMult { get; init; } = 0.25;
        public double DepthMult { get; init; } = 0.34;
        public int ImageSize { get; init; } = 112;
        public int CalibrationBatches { get; init; } = 40;
    }

    /// <summary>
    /// Writes a randomly initialised EfficientNet (torchvision's initialisation: Kaiming-normal fan-out convolutions,
    /// unit BatchNorm gains, zero biases) with its config.json into <paramref name="folder"/>. Frozen random weights
    /// with BatchNorm's initial statistics (mean 0, variance 1) let activations grow or vanish through 16 blocks, so
    /// the running statistics are first estimated on <paramref name="calibrationFrames"/> (RGB, <paramref name="frameSize"/>²),
    /// which makes every layer's output roughly standardised on the images the encoder will see. Weights are not trained.
    /// </summary>
    public static void WriteVisualEncoder(string folder, IReadOnlyList<byte[]> calibrationFrames, int frameSize, int seed, VisualEncoderShape? shape = null)
    {
        ArgumentNullException.ThrowIfNull(calibrationFrames);
        shape ??= new VisualEncoderShape();
        if (calibrationFrames.Count == 0) throw new ArgumentException("no calibration frames", nameof(calibrationFrames));
        Directory.CreateDirectory(folder);
        torch.manual_seed(seed);
        using var model = new EfficientNetB0(numClasses: 1, shape.WidthMult, shape.DepthMult);
        using (torch.no_grad())
        {
            foreach (var (name, p) in model.named_parameters())
            {
                if (p.dim() == 4) nn.init.kaiming_normal_(p, mode: nn.init.FanInOut.FanOut);
                else if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
                else if (p.dim() == 1) p.fill_(One);
                else nn.init.uniform_(p, -1 / Math.Sqrt(p.shape[0]), 1 / Math.Sqrt(p.shape[0]));
            }

            // Cumulative running statistics over the calibration batches (momentum null = equal weight per batch).
            var norms = model.modules().OfType<WavFusion.Models.Vision.BatchNorm2d>().ToList();
            foreach (var bn in norms)
            {
                bn.ResetRunningStats();
                bn.Momentum = null;
            }
            model.train();
            var random = new Random(seed);
            int batch = Math.Min(32, calibrationFrames.Count);
            for (int b = 0; b < shape.CalibrationBatches; b++)
            {
                using var scope = torch.NewDisposeScope();
                var bytes = new byte[batch * frameSize * frameSize * 3];
                for (int i = 0; i < batch; i++)
                    calibrationFrames[random.Next(calibrationFrames.Count)].CopyTo(bytes, i * frameSize * frameSize * 3);
                var pixels = torch.tensor(bytes, [batch, frameSize, frameSize, 3]).permute(0, 3, 1, 2).to(ScalarType.Float32);
                if (frameSize != shape.ImageSize)
                    pixels = nn.functional.interpolate(pixels, [shape.ImageSize, shape.ImageSize], mode: InterpolationMode.Bilinear,
                        align_corners: false, antialias: true).clamp_(Zero, ImageNetPreprocessing.ByteMax);
                model.Features(ImageNetPreprocessing.Normalize(pixels.div_(ImageNetPreprocessing.ByteMax)));
            }
            model.eval();
        }
        var weights = model.state_dict().Where(kv => !kv.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        SafeTensorsWriter.Write(Path.Combine(folder, "model.safetensors"), weights,
            new Dictionary<string, string> { ["format"] = "pt", ["wavfusion"] = "random-init demo image encoder, BatchNorm statistics calibrated" });
        var config = new JsonObject
        {
            ["model_type"] = "efficientnet_b0",
            ["source"] = "torchvision",
            ["num_classes"] = 1,
            ["width_mult"] = shape.WidthMult,
            ["depth_mult"] = shape.DepthMult,
            ["image_size"] = shape.ImageSize,
            ["wavfusion_note"] = $"Random-init frozen demo encoder (seed {seed}), BatchNorm statistics from {shape.CalibrationBatches} batches of SynthEmo faces; not ImageNet weights.",
        };
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    public const string TextFolder = "text-encoder";
    public const string VisualFolder = "visual-encoder";

    /// <summary>
    /// Both demo encoders from a SynthEmo corpus: the tokenizer learns only from the training split's transcripts,
    /// BatchNorm statistics only from its faces. Writes <c>text-encoder/</c> and <c>visual-encoder/</c> under <paramref name="outDir"/>.
    /// </summary>
    public static (string Text, string Visual) WriteFromCorpus(string corpusDir, string outDir, int seed, int calibrationItems = 300)
    {
        var corpus = SynthEmoManifest.Load(corpusDir);
        var train = corpus.Partitions[0].Train;
        if (train.Count == 0) throw new ArgumentException($"{corpusDir}: the corpus has no training items");
        string text = Path.Combine(outDir, TextFolder), visual = Path.Combine(outDir, VisualFolder);
        WriteTextEncoder(text, train.Select(i => i.Text), seed);

        var withVideo = train.Where(i => i.Video is not null).Take(calibrationItems).ToList();
        if (withVideo.Count == 0) throw new ArgumentException($"{corpusDir}: the training items have no face video to calibrate the image encoder on");
        int size = withVideo[0].Video!.FrameWidth ?? 64;
        var sampling = new VideoSampling { Size = size, FramesPerSecond = 5, MaxFrames = 64 };
        var frames = withVideo.SelectMany(i => VideoFrames.Read(i.Video!, sampling)).ToList();
        WriteVisualEncoder(visual, frames, size, seed);
        return (text, visual);
    }
}
