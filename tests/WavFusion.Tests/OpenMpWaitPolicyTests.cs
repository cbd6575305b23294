using System.Runtime.InteropServices;
using WavFusion.Core.Runtime;

namespace WavFusion.Tests;

public sealed partial class OpenMpWaitPolicyTests
{
    [Fact]
    public void The_policy_is_in_the_C_runtime_environment_that_libgomp_reads()
    {
        // The module initializer asked for PASSIVE before libtorch loaded; a user's own setting wins.
        string? managed = Environment.GetEnvironmentVariable(OpenMpWaitPolicy.PolicyVariable);
        string? spin = Environment.GetEnvironmentVariable(OpenMpWaitPolicy.SpinCountVariable);
        if (spin is null) Assert.NotNull(managed);
        Assert.Equal(managed, Marshal.PtrToStringUTF8(GetEnv(OpenMpWaitPolicy.PolicyVariable)));
        Assert.False(OpenMpWaitPolicy.PreferPassive());
        Assert.Contains(OpenMpWaitPolicy.PolicyVariable, OpenMpWaitPolicy.Describe(), StringComparison.Ordinal);
    }

    [LibraryImport("libc", EntryPoint = "getenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr GetEnv(string name);
}
