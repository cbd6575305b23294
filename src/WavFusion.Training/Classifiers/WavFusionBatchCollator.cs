using System.Text.Json;
using WavFusion.Models.Fusion;
using WavFusion.Models.Wav2Vec2;
using WavFusion.Training.Cache;
using WavFusion.Training.Trainer;
using static TorchSharp.torch;

namespace WavFusion.Training.Classifiers;

/// <summary>
/// Pads items into a <see cref="WavFusionInput"/>. Audio goes through the frozen wav2vec2 CNN + shallow
/// layers one utterance at a time (so no padding ever reaches the group-norm feature encoder, and the
/// result is the same whether it was computed now or read from the cache), then the shallow outputs are
/// right-padded with a frame mask. With a <see cref="FeatureCache"/>, that frozen output is stored per item
/// under a hash of the frozen weights, so only the first epoch pays for it.
/// Tensors are created in the caller's dispose scope; the trainer opens one per batch.
/// </summary>
public sealed class WavFusionBatchCollator : IBatchCollator
{
    public const string CacheKind = "wav2vec2-shallow";

    private const string Hidden = "hidden";

    private readonly WavFusionModel _model;
    private readonly FeatureCache? _cache;
    private readonly Wav2Vec2FeatureExtractor _extractor;
    private readonly Device _device;

    public WavFusionBatchCollator(WavFusionModel model, FeatureCache? cache, Wav2Vec2FeatureExtractor? extractor = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _cache = cache;
        _extractor = extractor ?? new Wav2Vec2FeatureExtractor();
        _device = model.parameters().First().device;
        FrozenModelHash = FrozenHash(model, _extractor);
    }

    /// <summary>Identifies the frozen part (weights, audio config, shallow layer count, normalisation): the cache folder.</summary>
    public string FrozenModelHash { get; }

    public TrainingBatch Collate(IReadOnlyList<ITrainingItem> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0) throw new ArgumentException("cannot collate an empty batch", nameof(items));
        var shallow = items.Select(i => AudioFeatures.Cached(_cache, CacheKind, FrozenModelHash, i, Hidden, EncodeShallow)).ToArray();
        var (hidden, frameMask) = SequencePadding.Pad(shallow, "shallow audio", _model.Config.Audio.HiddenSize, _device);
        var text = SequencePadding.Modality(items, i => i.Text, "text", _model.Config.TextDim, _device);
        var visual = SequencePadding.Modality(items, i => i.Visual, "visual", _model.Config.VisualDim, _device);
        var labels = SequencePadding.Labels(items, _device);
        return new TrainingBatch(
            WavFusionInput.FromShallow(new ShallowAudio(hidden, frameMask), text, visual), labels, items.Select(i => i.Id).ToArray());
    }

    private Dictionary<string, Tensor> EncodeShallow(ITrainingItem item)
    {
        var values = AudioFeatures.Normalize(_extractor, item);
        using var shallow = _model.EncodeShallow(values.to(_device));
        // The cache writes CPU tensors; one frame-major (frames, hidden) tensor per item.
        return new Dictionary<string, Tensor> { [Hidden] = shallow.Hidden[0].cpu().contiguous() };
    }

    private static string FrozenHash(WavFusionModel model, Wav2Vec2FeatureExtractor extractor)
    {
        var frozen = model.named_parameters().Where(p => !p.parameter.requires_grad)
            .ToDictionary(p => p.name, p => (Tensor)p.parameter, StringComparer.Ordinal);
        string config = JsonSerializer.Serialize(model.Config.Audio) + $"|shallow_layers={model.ShallowLayers}|normalize={extractor.DoNormalize}";
        return FeatureCache.ModelHash(frozen, config);
    }

    IClassifierBatch IBatchCollator.Collate(IReadOnlyList<ITrainingItem> items) => Collate(items);
}
