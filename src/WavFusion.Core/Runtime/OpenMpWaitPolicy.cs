using System.Runtime.InteropServices;

namespace WavFusion.Core.Runtime;

/// <summary>
/// libtorch's CPU kernels run on libgomp, whose idle threads spin at every barrier by default. That is fastest on
/// an otherwise idle machine, but WavFusion.Live shares its cores: capture, Whisper, the feature encoders and the
/// model run side by side, and tests and training share the machine with other processes. There the spinning
/// threads starve the rest — measured on the 2-core build machine under load: a tiny EfficientNet over 16 frames
/// 1.5 s spinning vs 30 ms passive, a Whisper-base decoder step 270-600 ms vs 20-30 ms. So the entry points ask
/// for passive waiting unless the user chose a policy. libgomp reads its environment once, when libtorch is
/// loaded, and .NET's Environment.SetEnvironmentVariable does not reach the C runtime's environment on Unix, so
/// this calls libc's setenv and must run before the first tensor is created.
/// </summary>
public static partial class OpenMpWaitPolicy
{
    public const string PolicyVariable = "OMP_WAIT_POLICY";
    public const string SpinCountVariable = "GOMP_SPINCOUNT";

    /// <summary>The policy in effect for this process (what libgomp reads), e.g. "PASSIVE" or "(libgomp default: spin)".</summary>
    public static string Describe()
    {
        string? policy = Environment.GetEnvironmentVariable(PolicyVariable);
        string? spin = Environment.GetEnvironmentVariable(SpinCountVariable);
        if (policy is null && spin is null) return "libgomp default (spin)";
        return string.Join(", ", new[] { policy is null ? null : $"{PolicyVariable}={policy}", spin is null ? null : $"{SpinCountVariable}={spin}" }
            .Where(s => s is not null));
    }

    /// <summary>Sets OMP_WAIT_POLICY=PASSIVE unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is already set. Returns whether it set it.</summary>
    public static bool PreferPassive()
    {
        if (Environment.GetEnvironmentVariable(PolicyVariable) is not null || Environment.GetEnvironmentVariable(SpinCountVariable) is not null)
            return false;
        Environment.SetEnvironmentVariable(PolicyVariable, "PASSIVE");
        if (!OperatingSystem.IsWindows() && SetEnv(PolicyVariable, "PASSIVE", 0) != 0)
            throw new InvalidOperationException($"setenv({PolicyVariable}) failed: errno {Marshal.GetLastPInvokeError()}");
        return true;
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
