using System.Text.Json;
using System.Text.Json.Nodes;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.Wav2Vec2;

namespace WavFusion.Models.Fusion;

/// <summary>Our checkpoint folders for <see cref="WavFusionModel"/>: weights plus the configuration that rebuilds the model.</summary>
public static class WavFusionCheckpoint
{
    public const string ModelType = "wavfusion";

    /// <param name="featureExtractor">How the model's audio was preprocessed in training (recorded so that serving
    /// preprocesses alike); HF's defaults when null.</param>
    public static void Save(string folder, WavFusionModel model, string modelVersion, JsonObject? training = null,
        Wav2Vec2FeatureExtractor? featureExtractor = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var config = JsonNode.Parse(model.Config.ToJson())!.AsObject();
        ModelCheckpoint.Save(folder, model, new CheckpointManifest
        {
            ModelType = ModelType,
            ModelVersion = modelVersion,
            Config = config,
            Labels = model.Config.LabelNames,
            Training = training,
            FeatureExtractor = (featureExtractor ?? new Wav2Vec2FeatureExtractor()).ToJson(),
        });
    }

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
}
