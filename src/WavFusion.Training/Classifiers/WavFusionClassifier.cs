using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using WavFusion.Models.Fusion;
using WavFusion.Training.Cache;
using WavFusion.Training.Trainer;
using static TorchSharp.torch;

namespace WavFusion.Training.Classifiers;

/// <summary>
/// <see cref="WavFusionModel"/> for the trainer: the fused deep wav2vec2 layers (<c>wav2vec2.*</c>) are the
/// pretrained group, the collator caches the frozen CNN + shallow output, checkpoints are <see cref="WavFusionCheckpoint"/> folders.
/// </summary>
public sealed class WavFusionClassifier(WavFusionModel model) : IEmotionClassifier
{
    public WavFusionModel Model { get; } = model ?? throw new ArgumentNullException(nameof(model));

    public string ModelType => WavFusionCheckpoint.ModelType;

    public nn.Module Module => Model;

    public IReadOnlyList<string> LabelNames => Model.Config.LabelNames;

    public JsonObject Config() => JsonNode.Parse(Model.Config.ToJson())!.AsObject();

    public IEnumerable<(string Name, Parameter Parameter)> TrainableParameters() => Model.TrainableParameters();

    public bool IsPretrained(string parameterName) => parameterName.StartsWith("wav2vec2.", StringComparison.Ordinal);

    public IBatchCollator CreateCollator(FeatureCache? cache) => new BatchCollator(Model, cache);

    public ClassifierStep Forward(IClassifierBatch batch)
    {
        var input = batch as TrainingBatch ?? throw new ArgumentException($"a WavFusion model takes the batches of its {nameof(BatchCollator)}", nameof(batch));
        var output = Model.forward(input.Input);
        var loss = Model.Loss(output, input.Labels);
        return new ClassifierStep(output.Probabilities, loss.Total, loss.CrossEntropy, loss.Margin);
    }

    public void Dispose() => Model.Dispose();

    public void SaveCheckpoint(string folder, string modelVersion, JsonObject? training) =>
        WavFusionCheckpoint.Save(folder, Model, modelVersion, training);
}
