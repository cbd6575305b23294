using System.Text.Json.Nodes;
using TorchSharp.Modules;
using WavFusion.Models.Fusion;
using WavFusion.Training.Cache;
using WavFusion.Training.Trainer;

namespace WavFusion.Training.Classifiers;

/// <summary>
/// <see cref="WavFusionModel"/> for the trainer: the fused deep wav2vec2 layers (<c>wav2vec2.*</c>) are the
/// pretrained group, the collator (<see cref="WavFusionBatchCollator"/>) caches the frozen CNN + shallow output,
/// and the loss adds the margin term.
/// </summary>
public sealed class WavFusionClassifier(WavFusionModel model) : EmotionClassifier<WavFusionModel>(model, WavFusionCheckpoint.ModelType)
{
    public override IReadOnlyList<string> LabelNames => Model.Config.LabelNames;

    public override IEnumerable<(string Name, Parameter Parameter)> TrainableParameters() => Model.TrainableParameters();

    public override bool IsPretrained(string parameterName) => parameterName.StartsWith("wav2vec2.", StringComparison.Ordinal);

    public override IBatchCollator CreateCollator(FeatureCache? cache) => new WavFusionBatchCollator(Model, cache);

    public override ClassifierStep Forward(IClassifierBatch batch)
    {
        var input = OwnBatch<TrainingBatch>(batch, "WavFusion");
        var output = Model.forward(input.Input);
        var loss = Model.Loss(output, input.Labels);
        return new ClassifierStep(output.Probabilities, loss.Total, loss.CrossEntropy, loss.Margin);
    }

    public override void SaveCheckpoint(string folder, string modelVersion, JsonObject? training) =>
        WavFusionCheckpoint.Save(folder, Model, modelVersion, training);

    protected override string ConfigJson() => Model.Config.ToJson();
}
