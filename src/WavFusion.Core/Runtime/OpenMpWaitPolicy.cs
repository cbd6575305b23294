using System.Globalization;
using System.Runtime.InteropServices;

namespace WavFusion.Core.Runtime;

/// <summary>
/// libtorch's CPU kernels run on libgomp, whose idle threads spin at every barrier: 300,000 spins (a few
/// milliseconds) by default, or for minutes with OMP_WAIT_POLICY=ACTIVE. WavFusion.Live shares its cores — capture,
/// Whisper, the feature encoders and the model run side by side, and tests and training share the machine with
/// other processes — and long spins starve the rest. Not spinning at all (PASSIVE) costs a futex sleep and
/// wake-up at every operator instead, which a Whisper decoding step (some 150 small operators per token) cannot
/// afford. A short spin bridges the gap between one operator and the next and then sleeps, so it keeps nearly all
/// of the speed and little of the starvation (the figures are in the README's "Performance notes"). The entry
/// points therefore ask for <see cref="DefaultSpinCount"/> spins unless the user chose a policy. libgomp reads its environment once, when libtorch is loaded, and .NET's
/// Environment.SetEnvironmentVariable does not reach the C runtime's environment on Unix, so this calls libc's
/// setenv and must run before the first tensor is created.
/// </summary>
public static partial class OpenMpWaitPolicy
{
    public const string PolicyVariable = "OMP_WAIT_POLICY";
    public const string SpinCountVariable = "GOMP_SPINCOUNT";

    /// <summary>
    /// Spins before an idle libgomp thread sleeps: about 30 µs by libgomp's own estimate (100,000 spins per
    /// millisecond), more on CPUs with a slow pause instruction. Chosen by sweeping the spin count for Whisper base
    /// decoding on a quiet and on a loaded machine: the value closest to the best of both (README, "Performance notes").
    /// </summary>
    public const int DefaultSpinCount = 3000;

    /// <summary>The policy in effect for this process (what libgomp reads), e.g. "GOMP_SPINCOUNT=3000".</summary>
    public static string Describe()
    {
        string? policy = Environment.GetEnvironmentVariable(PolicyVariable);
        string? spin = Environment.GetEnvironmentVariable(SpinCountVariable);
        if (policy is null && spin is null) return "libgomp default (spin 300000)";
        return string.Join(", ", new[] { policy is null ? null : $"{PolicyVariable}={policy}", spin is null ? null : $"{SpinCountVariable}={spin}" }
            .Where(s => s is not null));
    }

    /// <summary>
    /// Sets GOMP_SPINCOUNT=<see cref="DefaultSpinCount"/> unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is already set.
    /// Returns whether it set it.
    /// </summary>
    public static bool PreferShortSpin() => PreferIfUnset(SpinCountVariable, DefaultSpinCount.ToString(CultureInfo.InvariantCulture));

    /// <summary>Sets OMP_WAIT_POLICY=PASSIVE unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is already set. Returns whether it set it.</summary>
    public static bool PreferPassive() => PreferIfUnset(PolicyVariable, "PASSIVE");

    private static bool PreferIfUnset(string variable, string value)
    {
        if (Environment.GetEnvironmentVariable(PolicyVariable) is not null || Environment.GetEnvironmentVariable(SpinCountVariable) is not null)
            return false;
        Environment.SetEnvironmentVariable(variable, value);
        if (!OperatingSystem.IsWindows() && SetEnv(variable, value, 0) != 0)
            throw new InvalidOperationException($"setenv({variable}) failed: errno {Marshal.GetLastPInvokeError()}");
        return true;
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
