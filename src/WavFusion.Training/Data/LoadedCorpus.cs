namespace WavFusion.Training.Data;

/// <summary>A corpus read under a protocol: its classes, its partitions (one, or one per fold) and what was left out.</summary>
public sealed record LoadedCorpus(LabelSet Labels, IReadOnlyList<DatasetPartition> Partitions, DatasetReport Report)
{
    /// <summary>Every accepted item once (with the splits of the first partition).</summary>
    public IReadOnlyList<EmotionItem> Items => [.. Partitions[0].All];
}
