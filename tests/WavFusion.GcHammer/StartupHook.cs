using WavFusion.GcHammer;

/// <summary>
/// Runs the GC hammer in any .NET process of ours without changing it:
/// <c>DOTNET_STARTUP_HOOKS=/path/WavFusion.GcHammer.dll DOTNET_TieredCompilation=0 dotnet wavfusion.dll ...</c>.
/// It announces itself on standard error only, so a command's standard output can be compared with and without it.
/// </summary>
public static class StartupHook
{
    public static void Initialize()
    {
        GcHammer.Start();
        Console.Error.WriteLine("GC hammer: collecting and finalising on a background thread until the process exits");
    }
}
