using System.Runtime.InteropServices;
using WavFusion.Core.Runtime;

namespace WavFusion.Tests;

public sealed partial class OpenMpWaitPolicyTests
{
    [Fact]
    public void The_policy_is_in_the_C_runtime_environment_that_libgomp_reads()
    {
        // The module initializer asked for a short spin before libtorch loaded; a user's own setting wins.
        string? policy = Environment.GetEnvironmentVariable(OpenMpWaitPolicy.PolicyVariable);
        string? spin = Environment.GetEnvironmentVariable(OpenMpWaitPolicy.SpinCountVariable);
        if (policy is null) Assert.NotNull(spin);
        Assert.Equal(spin, Marshal.PtrToStringUTF8(GetEnv(OpenMpWaitPolicy.SpinCountVariable)));
        Assert.Equal(policy, Marshal.PtrToStringUTF8(GetEnv(OpenMpWaitPolicy.PolicyVariable)));
        // Once either is set, neither preference overrides it.
        Assert.False(OpenMpWaitPolicy.PreferShortSpin());
        Assert.False(OpenMpWaitPolicy.PreferPassive());
        Assert.Contains(spin is null ? OpenMpWaitPolicy.PolicyVariable : OpenMpWaitPolicy.SpinCountVariable, OpenMpWaitPolicy.Describe(), StringComparison.Ordinal);
    }

    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr GetEnv(string name);
}
