using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using WavFusion.Training.Cache;
using WavFusion.Training.Trainer;
using static TorchSharp.torch;

namespace WavFusion.Training.Classifiers;

/// <summary>
/// What the adapters share: the model they wrap and own, its label set and configuration (from the model's
/// config), and by default that every trainable parameter is new.
/// An adapter adds its collator and its forward + loss.
/// </summary>
public abstract class EmotionClassifier<TModel>(TModel model, string modelType) : IEmotionClassifier
    where TModel : nn.Module
{
    public TModel Model { get; } = model ?? throw new ArgumentNullException(nameof(model));

    public string ModelType { get; } = modelType;

    public nn.Module Module => Model;

    public abstract IReadOnlyList<string> LabelNames { get; }

    public JsonObject Config() => JsonNode.Parse(ConfigJson())!.AsObject();

    public virtual IEnumerable<(string Name, Parameter Parameter)> TrainableParameters() =>
        Model.named_parameters().Where(p => p.parameter.requires_grad);

    public virtual bool IsPretrained(string parameterName) => false;

    public abstract IBatchCollator CreateCollator(FeatureCache? cache);

    public abstract ClassifierStep Forward(IClassifierBatch batch);

    public virtual void SaveCheckpoint(string folder, string modelVersion, JsonObject? training) =>
        ClassifierCheckpoint.Save(folder, Model, ModelType, Config(), LabelNames, modelVersion, training);

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>The model config's JSON (its <c>ToJson()</c>): what rebuilds the model from a checkpoint.</summary>
    protected abstract string ConfigJson();

    protected virtual void Dispose(bool disposing)
    {
        if (disposing) Model.Dispose();
    }

    /// <summary>The batch as this adapter's collator made it; another kind's batch is an argument error naming the model.</summary>
    protected static TBatch OwnBatch<TBatch>(IClassifierBatch batch, string model)
        where TBatch : class, IClassifierBatch =>
        batch as TBatch ?? throw new ArgumentException($"a {model} model takes the batches of its own collator", nameof(batch));

    /// <summary>The step of a model trained on cross-entropy alone: total = cross-entropy, margin 0.</summary>
    protected static ClassifierStep CrossEntropyStep(Tensor probabilities, Tensor logits, Tensor labels)
    {
        var crossEntropy = nn.functional.cross_entropy(logits, labels);
        return new ClassifierStep(probabilities, crossEntropy.alias(), crossEntropy, torch.zeros_like(crossEntropy));
    }
}
