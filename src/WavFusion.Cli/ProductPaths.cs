namespace WavFusion.Cli;

/// <summary>Where the bundled configuration, models and sample audio are, for a build in the repository or a published app.</summary>
internal static class ProductPaths
{
    /// <summary>The folder holding config/, models/ and samples/: the app folder when published with them, else the repository root above it.</summary>
    public static string Root { get; } = FindRoot();

    public static string Config(string name) => Path.Combine(Root, "config", name);

    public static string Models => Path.Combine(Root, "models");

    /// <summary>The bundled sample speech (samples/jfk.flac).</summary>
    public static string SampleSpeech => Path.Combine(Root, "samples", "jfk.flac");

    /// <summary>The bundled clip (samples/demo-clip.mp4: speech and a face video, with its timed transcript beside it), the demo's default input.</summary>
    public static string DemoClip => Path.Combine(Root, "samples", "demo-clip.mp4");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "config", "wavfusion-demo.json"))) return dir.FullName;
        return Directory.GetCurrentDirectory();
    }
}
