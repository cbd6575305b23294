namespace WavFusion.StressRunner;

/// <summary>
/// A deterministic piece of product code: given the same process it must record the same bits on every run.
/// A canary is expected to differ or crash under the hammer; it proves the hammer can catch the bug.
/// </summary>
public sealed record Scenario(string Name, string Group, string Description, Action<Recording> Run, bool IsCanary = false);
