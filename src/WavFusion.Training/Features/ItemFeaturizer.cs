using WavFusion.Training.Cache;
using WavFusion.Training.Data;
using WavFusion.Training.Trainer;

namespace WavFusion.Training.Features;

/// <summary>TEMPORARY stub of the feat/features contract (CONTRACTS-3.md); the lead takes that branch's file at merge.</summary>
public sealed class ItemFeaturizer
{
    private readonly object?[] _parts;

    public ItemFeaturizer(ITextFeatureEncoder? text, IVisualFeatureEncoder? visual, FeatureCache? cache, VideoSampling? sampling = null) =>
        _parts = [text, visual, cache, sampling];

    public IReadOnlyList<ITrainingItem> Prepare(IReadOnlyList<EmotionItem> items, IReadOnlySet<Modality> modalities,
        DatasetReport report, IProgress<(int Done, int Total)>? progress = null) => throw new NotImplementedException($"feat/features ({_parts.Length} parts)");
}
