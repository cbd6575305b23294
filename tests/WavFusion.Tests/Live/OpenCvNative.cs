using OpenCvSharp;

namespace WavFusion.Tests.Live;

/// <summary>Whether OpenCV's native runtime loads here (it needs Debian's libgtk-3-0); the reason when it does not.</summary>
internal static class OpenCvNative
{
    private static readonly Lazy<string?> Failure = new(() =>
    {
        try
        {
            _ = Cv2.GetVersionString();
            return null;
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or BadImageFormatException)
        {
            return $"OpenCV's native runtime does not load ({e.GetBaseException().Message}); scripts/install-system-deps.sh installs libgtk-3-0";
        }
    });

    public static void SkipUnlessLoaded()
    {
        if (Failure.Value is { } reason) Console.WriteLine($"skipped: {reason}");
        Skip.If(Failure.Value is not null, Failure.Value);
    }
}
