using WavFusion.Models.Layers;
using WavFusion.Models.Unimodal;
using WavFusion.Training.Cache;
using WavFusion.Training.Trainer;
using static TorchSharp.torch;

namespace WavFusion.Training.Classifiers;

/// <summary><see cref="UnimodalEmotionModel"/> for the trainer: every parameter is new; the batch is the padded text or visual stream.</summary>
public sealed class UnimodalClassifier(UnimodalEmotionModel model) : EmotionClassifier<UnimodalEmotionModel>(model, Type)
{
    public const string Type = "unimodal";

    public override IReadOnlyList<string> LabelNames => Model.Config.LabelNames;

    public override IBatchCollator CreateCollator(FeatureCache? cache) => new Collator(Model.Config, Model.parameters().First().device);

    public override ClassifierStep Forward(IClassifierBatch batch)
    {
        var input = OwnBatch<Batch>(batch, "unimodal");
        var output = Model.forward(input.Stream);
        return CrossEntropyStep(output.Probabilities, output.Logits, input.Labels);
    }

    protected override string ConfigJson() => Model.Config.ToJson();

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
