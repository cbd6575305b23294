using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using WavFusion.Training.Cache;
using static TorchSharp.torch;

namespace WavFusion.Training.Trainer;

/// <summary>
/// What <see cref="EmotionClassifierTrainer"/> needs of a model: its module (weights, train/eval), the parameters to
/// optimise and which of them are pretrained (they get <c>learning_rate_wav2vec2</c>), a collator for its
/// input, one forward + loss, and a checkpoint format. One adapter per model kind implements it; disposing
/// it releases the module and any frozen encoder the adapter owns.
/// </summary>
public interface IEmotionClassifier : IDisposable
{
    /// <summary>The checkpoint manifest's <c>model_type</c>.</summary>
    string ModelType { get; }

    nn.Module Module { get; }

    IReadOnlyList<string> LabelNames { get; }

    /// <summary>The configuration that rebuilds the model; resume and evaluate compare a checkpoint's with it.</summary>
    JsonObject Config();

    IEnumerable<(string Name, Parameter Parameter)> TrainableParameters();

    /// <summary>Whether a trainable parameter starts from pretrained weights (the small learning rate) rather than fresh.</summary>
    bool IsPretrained(string parameterName);

    IBatchCollator CreateCollator(FeatureCache? cache);

    /// <summary>Forward and loss of a batch made by this classifier's collator; tensors land in the caller's dispose scope.</summary>
    ClassifierStep Forward(IClassifierBatch batch);

    void SaveCheckpoint(string folder, string modelVersion, JsonObject? training);
}

/// <summary>A collated batch: labels (B) int64 and item ids in batch order, plus whatever input the model kind takes.</summary>
public interface IClassifierBatch
{
    Tensor Labels { get; }

    IReadOnlyList<string> Ids { get; }
}

/// <summary>Turns training items into one model kind's batches (tensors in the caller's dispose scope).</summary>
public interface IBatchCollator
{
    IClassifierBatch Collate(IReadOnlyList<ITrainingItem> items);
}

/// <summary>Probabilities (B, classes) and the loss of one batch: total = cross-entropy + λ·margin (margin 0 for models without it).</summary>
public sealed record ClassifierStep(Tensor Probabilities, Tensor Total, Tensor CrossEntropy, Tensor Margin) : IDisposable
{
    public void Dispose()
    {
        Probabilities.Dispose();
        Total.Dispose();
        CrossEntropy.Dispose();
        Margin.Dispose();
    }
}
