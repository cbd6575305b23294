namespace WavFusion.Cli;

/// <summary>Where the bundled configuration, models and sample audio are, for a build in the repository or a published app.</summary>
internal static class ProductPaths
{
    /// <summary>The folder holding config/ and models/: the app folder when published with them, else the repository root above it.</summary>
    public static string Root { get; } = FindRoot();

    public static string Config(string name) => Path.Combine(Root, "config", name);

    public static string Models => Path.Combine(Root, "models");

    /// <summary>The shared sample speech beside the repository (../shared/audio/jfk.flac), if present.</summary>
    public static string SampleSpeech => Path.GetFullPath(Path.Combine(Root, "..", "shared", "audio", "jfk.flac"));

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "config", "wavfusion-demo.json"))) return dir.FullName;
        return Directory.GetCurrentDirectory();
    }
}
