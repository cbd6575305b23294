using WavFusion.Models.Fusion;
using static TorchSharp.torch;

namespace WavFusion.Training.Trainer;

/// <summary>A collated batch: the model input (cached shallow audio, padded text/visual with masks), labels (B) int64 and the item ids in batch order.</summary>
public sealed record TrainingBatch(WavFusionInput Input, Tensor Labels, IReadOnlyList<string> Ids) : IClassifierBatch;
