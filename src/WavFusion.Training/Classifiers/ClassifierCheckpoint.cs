using System.Text.Json.Nodes;
using WavFusion.Core.Checkpoints;
using WavFusion.Training.Trainer;

namespace WavFusion.Training.Classifiers;

/// <summary>
/// The one checkpoint format of every classifier the trainer trains (WavFusion, cross-modal, unimodal): weights,
/// model type, the configuration that rebuilds the model, labels, the training state and, for a model that
/// takes audio, the feature-extractor settings it was trained with. A WavFusion folder is also what
/// <see cref="WavFusion.Models.Fusion.WavFusionCheckpoint"/> (and so Inference's ModelBundle) rebuilds a model from.
/// </summary>
public static class ClassifierCheckpoint
{
    public static void Save(IEmotionClassifier classifier, string folder, string modelVersion, JsonObject? training = null)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ModelCheckpoint.Save(folder, classifier.Module, new CheckpointManifest
        {
            ModelType = classifier.ModelType,
            ModelVersion = modelVersion,
            Config = classifier.Config(),
            Labels = classifier.LabelNames,
            Training = training,
            FeatureExtractor = classifier.FeatureExtractor?.ToJson(),
        });
    }

    /// <summary>
    /// Loads a checkpoint's weights into <paramref name="classifier"/> (strict), after checking that the folder
    /// holds this model type trained with this configuration.
    /// </summary>
    public static CheckpointManifest LoadInto(IEmotionClassifier classifier, string folder)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        var manifest = CheckCompatible(classifier, folder);
        LoadWeights(classifier, folder);
        return manifest;
    }

    public static CheckpointManifest CheckCompatible(IEmotionClassifier classifier, string folder)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        var manifest = ModelCheckpoint.ReadManifest(folder);
        if (manifest.ModelType != classifier.ModelType)
            throw new CheckpointException($"{folder}: checkpoint holds a '{manifest.ModelType}' model, the experiment builds '{classifier.ModelType}'");
        if (!JsonNode.DeepEquals(manifest.Config, classifier.Config()))
            throw new CheckpointException($"{folder}: the checkpoint was trained with another model configuration than this one");
        return manifest;
    }

    /// <summary>The weights alone (strict), for a caller that has checked the manifest its own way (the trainer's resume).</summary>
    internal static void LoadWeights(IEmotionClassifier classifier, string folder)
    {
        var (_, weights) = ModelCheckpoint.Load(folder);
        try
        {
            StateDictLoader.Load(classifier.Module, weights, Path.Combine(folder, ModelCheckpoint.WeightsFile));
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }
}
