using static TorchSharp.torch;

namespace WavFusion.Training.Trainer;

/// <summary>
/// One labelled utterance as the trainer sees it; dataset readers (IEMOCAP, MELD, SynthEmo) implement this.
/// Audio is mono float samples at 16 kHz; text and visual are the frozen encoders' features, (Tt, text_dim)
/// and (Tv, visual_dim) float32 on the CPU, or null when the item has no such stream.
/// </summary>
public interface ITrainingItem
{
    /// <summary>Unique within the dataset; the feature cache and predictions.csv name the item by it.</summary>
    string Id { get; }

    /// <summary>Class index into the model's label_names.</summary>
    int Label { get; }

    float[] Audio { get; }

    Tensor? Text { get; }

    Tensor? Visual { get; }
}

/// <summary>A plain <see cref="ITrainingItem"/> for readers that hold everything in memory.</summary>
public sealed record TrainingItem(string Id, int Label, float[] Audio, Tensor? Text = null, Tensor? Visual = null) : ITrainingItem;

/// <summary>The three splits of an experiment. Validation picks the best epoch; test is scored once, by the best checkpoint.</summary>
public sealed record TrainingSplits(IReadOnlyList<ITrainingItem> Train, IReadOnlyList<ITrainingItem> Validation, IReadOnlyList<ITrainingItem> Test)
{
    public void Validate(int numClasses)
    {
        if (Train.Count == 0) throw new ArgumentException("the training split is empty");
        if (Validation.Count == 0) throw new ArgumentException("the validation split is empty (early stopping and the best checkpoint need it)");
        if (Test.Count == 0) throw new ArgumentException("the test split is empty");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (split, items) in new[] { ("train", Train), ("validation", Validation), ("test", Test) })
            foreach (var item in items)
            {
                if (string.IsNullOrWhiteSpace(item.Id)) throw new ArgumentException($"{split}: an item has an empty id");
                if (!seen.Add(item.Id)) throw new ArgumentException($"{split}: item id '{item.Id}' occurs twice across the splits");
                if (item.Label < 0 || item.Label >= numClasses)
                    throw new ArgumentException($"{split}: item '{item.Id}' has label {item.Label}; the model has {numClasses} classes");
            }
    }
}
