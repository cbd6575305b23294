using Xunit.Abstractions;

namespace WavFusion.Tests.Parity;

/// <summary>
/// Runs the checker of each discovered reference fixture. Fixtures are found by config.json model_type
/// (or metrics.json) in $WAVFUSION_REFERENCE_FIXTURES, never by folder name.
/// </summary>
public sealed class ReferenceParityTests(ITestOutputHelper log)
{
    /// <summary>Fixture types this project ports; a fixture of one of these that cannot be checked fails.</summary>
    public static readonly IReadOnlySet<string> KnownKinds = new HashSet<string>(StringComparer.Ordinal)
    {
        "wav2vec2", "roberta", "efficientnet_b0", "whisper", "metrics",
    };

    public static TheoryData<string, string> Fixtures()
    {
        var data = new TheoryData<string, string>();
        foreach (var f in ReferenceFixture.Discover()) data.Add(f.Kind, f.Folder);
        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(Fixtures))]
    public void Reference_fixture_matches(string kind, string folder)
    {
        var fixture = new ReferenceFixture(folder, kind);
        Assert.False(KnownKinds.Contains(kind) && !FixtureCheckers.All.ContainsKey(kind),
            $"{fixture.Name}: fixture of known type '{kind}' has no checker");
        Skip.IfNot(FixtureCheckers.All.ContainsKey(kind), $"no checker for model_type '{kind}' ({fixture.Name})");
        FixtureCheckers.All[kind].Check(fixture, log);
        log.WriteLine($"parity ok: {fixture}");
        Console.WriteLine($"parity ok: {fixture}");
    }

    [Fact]
    public void Reference_fixtures_are_present_and_known_kinds_have_checkers()
    {
        var fixtures = ReferenceFixture.Discover();
        Assert.True(fixtures.Count > 0, $"no reference fixtures under {Infrastructure.RepoPaths.ReferenceFixtures} (set WAVFUSION_REFERENCE_FIXTURES)");
        foreach (var kind in KnownKinds)
            Assert.True(FixtureCheckers.All.ContainsKey(kind), $"no parity checker registered for '{kind}'");
    }
}
