namespace WavFusion.Tests.Infrastructure;

public static class RepoPaths
{
    /// <summary>The repository root: the nearest parent folder holding WavFusion.Live.sln.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The reference fixtures: $WAVFUSION_REFERENCE_FIXTURES (relative to the repository root), else tests/fixtures.</summary>
    public static string ReferenceFixtures =>
        Environment.GetEnvironmentVariable("WAVFUSION_REFERENCE_FIXTURES") is { Length: > 0 } env
            ? Path.GetFullPath(env, Root)
            : Path.Combine(Root, "tests", "fixtures");

    /// <summary>Test data committed with the tests (tests/WavFusion.Tests/Data).</summary>
    public static string TestData => Path.Combine(Root, "tests", "WavFusion.Tests", "Data");

    /// <summary>The sample media shipped with the product (samples/).</summary>
    public static string Samples => Path.Combine(Root, "samples");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "WavFusion.Live.sln"))) return dir.FullName;
        throw new InvalidOperationException($"No WavFusion.Live.sln above {AppContext.BaseDirectory}");
    }
}

/// <summary>A scratch folder removed when the test ends.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("wavfusion-test-").FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose()
    {
        try { Directory.Delete(Path, true); } catch (IOException) { }
    }
}
