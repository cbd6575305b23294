using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Inference.Encoders;
using WavFusion.Models.Fusion;
using WavFusion.Models.Wav2Vec2;
using static TorchSharp.torch;

namespace WavFusion.Inference;

/// <summary>
/// A deployable model folder, loaded once and shared: the WavFusion checkpoint (<c>checkpoint.json</c> +
/// <c>model.safetensors</c>), its frozen encoders (<c>text-encoder/</c>, <c>visual-encoder/</c>, each
/// optional), the wav2vec2 feature-extractor settings recorded in the checkpoint, the label set and the model
/// version. Everything that turns media into model inputs comes from here, so the CLI, the live runtime, the
/// server and training's evaluation cannot preprocess differently.
/// </summary>
public sealed class ModelBundle : IDisposable
{
    /// <summary>The frozen text encoder's folder inside a bundle (a Hugging Face RoBERTa or BERT folder).</summary>
    public const string TextEncoderFolder = "text-encoder";

    /// <summary>The frozen image encoder's folder inside a bundle (an EfficientNet-B0 folder).</summary>
    public const string VisualEncoderFolder = "visual-encoder";

    private ModelBundle(string folder, WavFusionModel model, CheckpointManifest manifest, Wav2Vec2FeatureExtractor featureExtractor,
        ITextFeatureEncoder? textEncoder, IVisualFeatureEncoder? visualEncoder, Device device)
    {
        Folder = folder;
        Model = model;
        Manifest = manifest;
        FeatureExtractor = featureExtractor;
        TextEncoder = textEncoder;
        VisualEncoder = visualEncoder;
        Device = device;
    }

    public string Folder { get; }

    /// <summary>The model, in eval mode on <see cref="Device"/>.</summary>
    public WavFusionModel Model { get; }

    public CheckpointManifest Manifest { get; }

    public string ModelVersion => Manifest.ModelVersion;

    /// <summary>Class names in output order.</summary>
    public IReadOnlyList<string> Labels => Manifest.Labels;

    /// <summary>The preprocessing the model was trained with.</summary>
    public Wav2Vec2FeatureExtractor FeatureExtractor { get; }

    /// <summary>Null when the bundle has no <c>text-encoder/</c>: windows are then scored without text.</summary>
    public ITextFeatureEncoder? TextEncoder { get; }

    /// <summary>Null when the bundle has no <c>visual-encoder/</c>: windows are then scored without faces.</summary>
    public IVisualFeatureEncoder? VisualEncoder { get; }

    public Device Device { get; }

    /// <summary>The fewest samples a window may have (one wav2vec2 frame).</summary>
    public int MinimumSamples => Model.Config.Audio.ReceptiveField;

    /// <summary>True for the bundled demo model, which was trained on synthetic data only.</summary>
    public bool IsDemoModel => ModelVersion.StartsWith("synthemo-demo", StringComparison.Ordinal);

    /// <summary>
    /// Loads <paramref name="folder"/>. Errors name the folder and what is wrong with it: missing, no checkpoint,
    /// a checkpoint of another model type, or an encoder whose width the model does not take.
    /// </summary>
    public static ModelBundle Load(string folder, Device? device = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        folder = Path.GetFullPath(folder);
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"{folder}: folder does not exist (a model folder holds {ModelCheckpoint.ManifestFile} and {ModelCheckpoint.WeightsFile})");
        if (!File.Exists(Path.Combine(folder, ModelCheckpoint.ManifestFile)))
            throw new CheckpointException($"{folder}: not a model folder (no {ModelCheckpoint.ManifestFile}; a model folder holds {ModelCheckpoint.ManifestFile}, {ModelCheckpoint.WeightsFile} and optionally {TextEncoderFolder}/ and {VisualEncoderFolder}/)");
        var target = device ?? torch.CPU;
        var (model, manifest) = WavFusionCheckpoint.Load(folder);
        return ModuleLoading.DisposeOnFailure(model, _ =>
        {
            model.to(target);
            var extractor = manifest.FeatureExtractor is null
                ? new Wav2Vec2FeatureExtractor()
                : Wav2Vec2FeatureExtractor.FromJson(manifest.FeatureExtractor, Path.Combine(folder, ModelCheckpoint.ManifestFile));
            var text = LoadEncoder(Path.Combine(folder, TextEncoderFolder), f => FeatureEncoderLoader.LoadText(f, target),
                e => e.Dim, "text encoder", "text_dim", model.Config.TextDim);
            return ModuleLoading.DisposeOnFailure(text, _ =>
            {
                var visual = LoadEncoder(Path.Combine(folder, VisualEncoderFolder), f => FeatureEncoderLoader.LoadVisual(f, target),
                    e => e.Dim, "image encoder", "visual_dim", model.Config.VisualDim);
                return new ModelBundle(folder, model, manifest, extractor, text, visual, target);
            });
        });
    }

    /// <summary>The encoder in <paramref name="encoderFolder"/>, null when the bundle has none; an error when its width is not the model's.</summary>
    private static T? LoadEncoder<T>(string encoderFolder, Func<string, T> load, Func<T, int> width, string what, string field, int expected)
        where T : class, IDisposable
    {
        if (!Directory.Exists(encoderFolder)) return null;
        return ModuleLoading.DisposeOnFailure(load(encoderFolder), encoder => width(encoder) == expected
            ? encoder
            : throw new CheckpointException($"{encoderFolder}: the {what} is {width(encoder)}-wide, the model takes {field} {expected}"));
    }

    public void Dispose()
    {
        Model.Dispose();
        TextEncoder?.Dispose();
        VisualEncoder?.Dispose();
    }
}
