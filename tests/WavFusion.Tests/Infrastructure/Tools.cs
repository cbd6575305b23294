namespace WavFusion.Tests.Infrastructure;

public static class Tools
{
    /// <summary>Whether an executable is on PATH.</summary>
    public static bool Has(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, name)));
}
