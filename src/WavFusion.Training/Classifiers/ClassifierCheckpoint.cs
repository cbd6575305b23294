using System.Text.Json.Nodes;
using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Training.Trainer;
using static TorchSharp.torch;

namespace WavFusion.Training.Classifiers;

/// <summary>Checkpoint folders of the models that have no format of their own (cross-modal, unimodal): weights, config and labels.</summary>
public static class ClassifierCheckpoint
{
    public static void Save(string folder, nn.Module module, string modelType, JsonObject config, IReadOnlyList<string> labels, string modelVersion, JsonObject? training) =>
        ModelCheckpoint.Save(folder, module, new CheckpointManifest
        {
            ModelType = modelType,
            ModelVersion = modelVersion,
            Config = config,
            Labels = labels,
            Training = training,
        });

    /// <summary>
    /// Loads a checkpoint's weights into <paramref name="classifier"/> (strict), after checking that the folder
    /// holds this model type trained with this configuration.
    /// </summary>
    public static CheckpointManifest LoadInto(IEmotionClassifier classifier, string folder)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        var manifest = CheckCompatible(classifier, folder);
        var (_, weights) = ModelCheckpoint.Load(folder);
        try
        {
            StateDictLoader.Load(classifier.Module, weights, Path.Combine(folder, ModelCheckpoint.WeightsFile));
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
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
}
