namespace WavFusion.Tests.Fusion;

/// <summary>
/// torch.manual_seed and module initialisation share one process-wide generator; tests that build two
/// modules from the same seed and expect equal weights run alone, so no parallel test draws in between.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SeededTorchCollection
{
    public const string Name = "seeded torch (process-wide generator)";
}
