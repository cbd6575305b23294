using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using WavFusion.Models.Fusion;
using WavFusion.Models.Unimodal;
using WavFusion.Training.Cache;
using WavFusion.Training.Trainer;
using static TorchSharp.torch;
using WavFusion.Models.Layers;

namespace WavFusion.Training.Classifiers;

/// <summary><see cref="UnimodalEmotionModel"/> for the trainer: every parameter is new; the batch is the padded text or visual stream.</summary>
public sealed class UnimodalClassifier(UnimodalEmotionModel model) : IEmotionClassifier
{
    public const string Type = "unimodal";

    public UnimodalEmotionModel Model { get; } = model ?? throw new ArgumentNullException(nameof(model));

    public string ModelType => Type;

    public nn.Module Module => Model;

    public IReadOnlyList<string> LabelNames => Model.Config.LabelNames;

    public JsonObject Config() => JsonNode.Parse(Model.Config.ToJson())!.AsObject();

    public IEnumerable<(string Name, Parameter Parameter)> TrainableParameters() =>
        Model.named_parameters().Where(p => p.parameter.requires_grad);

    public bool IsPretrained(string parameterName) => false;

    public IBatchCollator CreateCollator(FeatureCache? cache) => new Collator(Model.Config, Model.parameters().First().device);

    public ClassifierStep Forward(IClassifierBatch batch)
    {
        var input = batch as Batch ?? throw new ArgumentException("a unimodal model takes the batches of its own collator", nameof(batch));
        var output = Model.forward(input.Stream);
        var crossEntropy = nn.functional.cross_entropy(output.Logits, input.Labels);
        return new ClassifierStep(output.Probabilities, crossEntropy.alias(), crossEntropy, torch.zeros_like(crossEntropy));
    }

    public void Dispose() => Model.Dispose();

    public void SaveCheckpoint(string folder, string modelVersion, JsonObject? training) =>
        ClassifierCheckpoint.Save(folder, Model, Type, Config(), LabelNames, modelVersion, training);

    private sealed record Batch(ModalitySequence Stream, Tensor Labels, IReadOnlyList<string> Ids) : IClassifierBatch;

    private sealed class Collator(UnimodalConfig config, Device device) : IBatchCollator
    {
        public IClassifierBatch Collate(IReadOnlyList<ITrainingItem> items)
        {
            ArgumentNullException.ThrowIfNull(items);
            if (items.Count == 0) throw new ArgumentException("cannot collate an empty batch", nameof(items));
            bool text = config.Stream == UnimodalStream.Text;
            string name = text ? "text" : "visual";
            var stream = SequencePadding.Modality(items, i => text ? i.Text : i.Visual, name, config.InputDim, device)
                         ?? throw new ArgumentException($"a {name}-only model got a batch whose items have no {name} features (first: '{items[0].Id}')");
            return new Batch(stream, SequencePadding.Labels(items, device), items.Select(i => i.Id).ToArray());
        }
    }
}
