using System.Text.Json;
using System.Text.Json.Nodes;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.CrossModal;
using WavFusion.Models.Fusion;
using WavFusion.Models.Unimodal;
using WavFusion.Models.Wav2Vec2;
using WavFusion.Training.Classifiers;
using WavFusion.Training.Trainer;
using static TorchSharp.torch;

namespace WavFusion.Training.Experiments;

/// <summary>Builds an experiment's model (fresh, with its pretrained parts) or rebuilds a trained one from its checkpoint.</summary>
public static class ExperimentModels
{
    /// <summary>
    /// A WavFusion configuration from the merged JSON. Its wav2vec2 part is the inline object, else
    /// <c>wav2vec2_config_path</c> (a config.json or its folder), else the config.json of the pretrained
    /// wav2vec2 folder when one is given and exists; otherwise it stays unresolved.
    /// </summary>
    public static WavFusionConfig WavFusionConfigOf(JsonObject json, string? wav2vec2Folder)
    {
        ArgumentNullException.ThrowIfNull(json);
        var config = json.Deserialize<WavFusionConfig>() ?? throw new ArgumentException("the WavFusion configuration is null");
        if (config.Wav2Vec2 is not null) return config;
        string? path = config.Wav2Vec2ConfigPath ?? (wav2vec2Folder is not null && File.Exists(Path.Combine(wav2vec2Folder, "config.json")) ? wav2vec2Folder : null);
        if (path is null) return config;
        if (Directory.Exists(path)) path = Path.Combine(path, "config.json");
        return config with { Wav2Vec2 = Wav2Vec2Config.Load(path) };
    }

    /// <summary>
    /// The experiment's model, untrained. With <paramref name="loadPretrained"/>, WavFusion's wav2vec2 part is
    /// loaded from <c>encoders.wav2vec2</c> (null: random init) and the cross-modal model gets that frozen encoder.
    /// <paramref name="device"/> = <c>torch.META</c> with <paramref name="loadPretrained"/> false checks that the model builds without allocating.
    /// </summary>
    public static IEmotionClassifier Build(ExperimentConfig experiment, bool loadPretrained = true, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        switch (experiment.Kind)
        {
            case ModelKind.WavFusion:
                var model = ModuleLoading.BuildAndLoad(
                    () => new WavFusionModel(WavFusionConfigOf(experiment.ModelConfig, experiment.Encoders.Wav2Vec2), device),
                    m =>
                    {
                        if (loadPretrained && experiment.Encoders.Wav2Vec2 is { } folder) m.LoadPretrainedAudio(folder);
                    });
                return new WavFusionClassifier(model, FeatureExtractorOf(experiment));
            case ModelKind.CrossModal:
                var crossModal = new CrossModalEmotionModel(experiment.ModelConfig.Deserialize<CrossModalConfig>()!);
                return new CrossModalClassifier(crossModal, loadPretrained ? AudioEncoder(experiment, crossModal.Config) : null, FeatureExtractorOf(experiment));
            default:
                return new UnimodalClassifier(new UnimodalEmotionModel(experiment.ModelConfig.Deserialize<UnimodalConfig>()!, device));
        }
    }

    /// <summary>
    /// Builds the experiment's bare model without pretrained weights (WavFusion and the unimodal models on the
    /// META device, allocating nothing; the small cross-modal head on the CPU) and returns its parameter count.
    /// </summary>
    public static long CheckBuilds(ExperimentConfig experiment)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        using TorchSharp.torch.nn.Module module = experiment.Kind switch
        {
            ModelKind.WavFusion => new WavFusionModel(WavFusionConfigOf(experiment.ModelConfig, experiment.Encoders.Wav2Vec2), TorchSharp.torch.META),
            ModelKind.CrossModal => new CrossModalEmotionModel(experiment.ModelConfig.Deserialize<CrossModalConfig>()!),
            _ => new UnimodalEmotionModel(experiment.ModelConfig.Deserialize<UnimodalConfig>()!, TorchSharp.torch.META),
        };
        return module.parameters().Sum(p => p.numel());
    }

    /// <summary>
    /// Rebuilds a trained model from a checkpoint folder's manifest and loads its weights (strict). The experiment
    /// supplies what the checkpoint does not hold: the cross-modal model's frozen wav2vec2.
    /// </summary>
    public static IEmotionClassifier FromCheckpoint(string folder, ExperimentConfig experiment)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        var manifest = ModelCheckpoint.ReadManifest(folder);
        if (manifest.ModelType == WavFusionCheckpoint.ModelType)
            return new WavFusionClassifier(WavFusionCheckpoint.Load(folder).Model, WavFusionCheckpoint.FeatureExtractor(manifest, folder));
        IEmotionClassifier classifier;
        try
        {
            classifier = manifest.ModelType switch
            {
                CrossModalClassifier.Type => CrossModal(manifest.Config.Deserialize<CrossModalConfig>()!, experiment,
                    manifest.FeatureExtractor is null ? FeatureExtractorOf(experiment) : WavFusionCheckpoint.FeatureExtractor(manifest, folder)),
                UnimodalClassifier.Type => new UnimodalClassifier(new UnimodalEmotionModel(manifest.Config.Deserialize<UnimodalConfig>()!)),
                _ => throw new CheckpointException($"{folder}: unknown model_type '{manifest.ModelType}'"),
            };
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new CheckpointException($"{folder}: {ModelCheckpoint.ManifestFile} config: {e.Message}", e);
        }
        return ModuleLoading.DisposeOnFailure(classifier, c =>
        {
            ClassifierCheckpoint.LoadInto(c, folder);
            c.Module.eval();
            return c;
        });
    }

    private static CrossModalClassifier CrossModal(CrossModalConfig config, ExperimentConfig experiment, Wav2Vec2FeatureExtractor extractor) =>
        new(new CrossModalEmotionModel(config), AudioEncoder(experiment, config), extractor);

    /// <summary>
    /// The audio preprocessing of the experiment's pretrained wav2vec2 (its preprocessor_config.json, e.g.
    /// <c>do_normalize</c>); HF's defaults without a folder. Collators use it and checkpoints record it.
    /// </summary>
    public static Wav2Vec2FeatureExtractor FeatureExtractorOf(ExperimentConfig experiment)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        return experiment.Encoders.Wav2Vec2 is { } folder ? Wav2Vec2FeatureExtractor.FromPretrained(folder) : new Wav2Vec2FeatureExtractor();
    }

    private static Wav2Vec2Model? AudioEncoder(ExperimentConfig experiment, CrossModalConfig config)
    {
        if (!config.UsesAudio) return null;
        var folder = experiment.Encoders.Wav2Vec2
                     ?? throw new ArgumentException($"{experiment.SourcePath}: encoders.wav2vec2: the cross-modal model needs a pretrained wav2vec2 folder");
        return Wav2Vec2Model.FromPretrained(folder);
    }
}
