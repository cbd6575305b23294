using System.Text.Json;
using System.Text.Json.Nodes;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.Wav2Vec2;

namespace WavFusion.Models.Fusion;

/// <summary>
/// Rebuilds a <see cref="WavFusionModel"/> from one of our checkpoint folders (weights plus the configuration and
/// preprocessing it was trained with), for serving and evaluation alike. Training writes these folders through its
/// one classifier checkpoint format; this side only reads them.
/// </summary>
public static class WavFusionCheckpoint
{
    public const string ModelType = "wavfusion";

    /// <summary>Rebuilds the model from the folder's manifest and loads its weights strictly (eval mode).</summary>
    public static (WavFusionModel Model, CheckpointManifest Manifest) Load(string folder)
    {
        var (manifest, weights) = ModelCheckpoint.Load(folder);
        try
        {
            if (manifest.ModelType != ModelType)
                throw new CheckpointException($"{folder}: checkpoint holds a '{manifest.ModelType}' model, not {ModelType}");
            WavFusionConfig config;
            try
            {
                config = manifest.Config.Deserialize<WavFusionConfig>()
                         ?? throw new CheckpointException($"{folder}: {ModelCheckpoint.ManifestFile} has an empty config");
                config.Validate();
            }
            catch (Exception e) when (e is JsonException or ArgumentException)
            {
                throw new CheckpointException($"{folder}: {ModelCheckpoint.ManifestFile} config: {e.Message}", e);
            }
            if (!config.LabelNames.SequenceEqual(manifest.Labels))
                throw new CheckpointException($"{folder}: labels [{string.Join(", ", manifest.Labels)}] disagree with the config's label_names [{string.Join(", ", config.LabelNames)}]");
            var model = new WavFusionModel(config);
            try
            {
                StateDictLoader.Load(model, weights, Path.Combine(folder, ModelCheckpoint.WeightsFile));
            }
            catch
            {
                model.Dispose();
                throw;
            }
            model.eval();
            return (model, manifest);
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }

    /// <summary>The preprocessing recorded in the manifest; HF's defaults for checkpoints that predate the record.</summary>
    public static Wav2Vec2FeatureExtractor FeatureExtractor(CheckpointManifest manifest, string folder)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        return manifest.FeatureExtractor is null
            ? new Wav2Vec2FeatureExtractor()
            : Wav2Vec2FeatureExtractor.FromJson(manifest.FeatureExtractor, Path.Combine(folder, ModelCheckpoint.ManifestFile));
    }
}
