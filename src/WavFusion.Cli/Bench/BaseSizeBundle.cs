using System.Text.Json.Nodes;
using System.Threading.Channels;
using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Inference;
using WavFusion.Live.Capture;
using WavFusion.Live.Pipeline;
using WavFusion.Live.Stages;
using WavFusion.Media;
using WavFusion.Models.Fusion;
using WavFusion.Models.Wav2Vec2;
using WavFusion.Training.Recipes;

namespace WavFusion.Cli.Bench;

/// <summary>Which frozen encoders the base-size bundle of `bench live` carries.</summary>
internal enum BaseEncoders
{
    /// <summary>The paper's sizes: a RoBERTa-base-shaped text encoder (768 wide, 12 layers) and a full EfficientNet-B0 at 224².</summary>
    Full,
    /// <summary>The bundled demo model's small encoders (128-d text, 320-d faces at 112²).</summary>
    Demo,
}

/// <summary>
/// Writes a deployable model folder at wav2vec2-base size with random weights, in the layout <see cref="ModelBundle"/>
/// loads (checkpoint.json + model.safetensors, text-encoder/, visual-encoder/), so `bench live` times the real
/// runtime on a model of the size a real deployment serves. Nothing here is trained: the scores mean nothing.
/// </summary>
internal static class BaseSizeBundle
{
    public const string ModelVersion = "bench-random-base";
    private const int Seed = 7;

    /// <summary>The configuration: WavFusionConfig.Base() (wav2vec2-base, 9 + 3 layers), with the demo's encoder widths for <see cref="BaseEncoders.Demo"/>.</summary>
    public static WavFusionConfig Config(BaseEncoders encoders)
    {
        var config = WavFusionConfig.Base();
        return encoders == BaseEncoders.Full ? config : config with { TextDim = 128, TextGruHidden = 64, TextHeads = 4, VisualDim = 320 };
    }

    /// <summary>Writes the folder; <paramref name="clip"/> and <paramref name="transcript"/> calibrate the full-size encoders (tokenizer, BatchNorm statistics).</summary>
    public static void Write(string folder, BaseEncoders encoders, string demoModel, string clip, IReadOnlyList<TranscriptSegment> transcript, FaceOptions faces)
    {
        var config = Config(encoders);
        config.Validate();
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(folder))!);
        torch.manual_seed(Seed);
        using (var model = new WavFusionModel(config))
        {
            ModelCheckpoint.Save(folder, model, new CheckpointManifest
            {
                ModelType = WavFusionCheckpoint.ModelType,
                ModelVersion = ModelVersion,
                Config = JsonNode.Parse(config.ToJson())!.AsObject(),
                Labels = config.LabelNames,
                FeatureExtractor = new Wav2Vec2FeatureExtractor().ToJson(),
                Training = new JsonObject { ["note"] = "random weights for `wavfusion bench live`; not trained" },
            });
        }

        string text = Path.Combine(folder, ModelBundle.TextEncoderFolder), visual = Path.Combine(folder, ModelBundle.VisualEncoderFolder);
        if (encoders == BaseEncoders.Demo)
        {
            CopyFolder(Path.Combine(demoModel, ModelBundle.TextEncoderFolder), text);
            CopyFolder(Path.Combine(demoModel, ModelBundle.VisualEncoderFolder), visual);
            return;
        }
        // Text only sets the tokenizer's vocabulary (a few hundred merges instead of RoBERTa's 50k: a smaller
        // embedding table, the same transformer cost per token).
        var sentences = transcript.Select(s => s.Text).ToList();
        DemoEncoders.WriteTextEncoder(text, sentences.Count > 0 ? sentences : ["no transcript"], Seed, new DemoEncoders.TextEncoderShape
        {
            HiddenSize = 768, Layers = 12, Heads = 12, IntermediateSize = 3072, MaxTokens = 512,
        });
        const int size = 224;
        var crops = FaceCrops(clip, faces, size);
        DemoEncoders.WriteVisualEncoder(visual, crops, size, Seed, new DemoEncoders.VisualEncoderShape
        {
            WidthMult = 1.0, DepthMult = 1.0, ImageSize = size, CalibrationBatches = 2,
        });
    }

    /// <summary>The largest face of frames of <paramref name="clip"/> (2 per second), cropped as the face stage crops them; a grey frame when none is found.</summary>
    private static List<byte[]> FaceCrops(string clip, FaceOptions options, int size)
    {
        var crops = new List<byte[]>();
        using var detector = FaceDetector.Create(options);
        var camera = new CameraSource(clip, new CameraOptions { MaxFps = 2 }, log: _ => { });
        var frames = Channel.CreateUnbounded<VideoFrame>();
        camera.RunAsync(frames.Writer, CancellationToken.None).GetAwaiter().GetResult();
        camera.DisposeAsync().AsTask().GetAwaiter().GetResult();
        while (frames.Reader.TryRead(out var frame) && crops.Count < 64)
            if (detector.CropLargest(frame, size) is { } crop) crops.Add(crop);
        if (crops.Count == 0) crops.Add(Enumerable.Repeat((byte)128, size * size * 3).ToArray());
        return crops;
    }

    private static void CopyFolder(string from, string to)
    {
        if (!Directory.Exists(from)) throw new DirectoryNotFoundException($"{from}: the demo model's encoder folder is missing");
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)), overwrite: true);
    }
}
