using WavFusion.Core.Runtime;

namespace WavFusion.Tests;

public sealed class NativeMemoryPolicyTests
{
    [Fact]
    public void Glibc_keeps_freed_memory_unless_the_user_tuned_malloc()
    {
        // The module initializer applied the policy; asking again reports the same state and changes nothing.
        bool first = NativeMemoryPolicy.RetainFreedMemory();
        Assert.Equal(first, NativeMemoryPolicy.RetainFreedMemory());
        bool userTuned = (Environment.GetEnvironmentVariable("GLIBC_TUNABLES")?.Contains("glibc.malloc.") ?? false)
            || Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is not null
            || Environment.GetEnvironmentVariable("MALLOC_TRIM_THRESHOLD_") is not null
            || Environment.GetEnvironmentVariable("MALLOC_TOP_PAD_") is not null
            || Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") is not null;
        bool glibc = OperatingSystem.IsLinux()
            && !System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier.Contains("musl", StringComparison.Ordinal);
        if (userTuned) Assert.False(first);
        else if (glibc) Assert.True(first, NativeMemoryPolicy.Describe());
        Assert.Contains(first ? "keeps freed memory" : "malloc as configured", NativeMemoryPolicy.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_mmap_threshold_is_within_what_glibc_accepts()
    {
        // glibc refuses M_MMAP_THRESHOLD above HEAP_MAX_SIZE / 2 (32 MiB on 64-bit).
        Assert.InRange(NativeMemoryPolicy.MmapThresholdBytes, 1L << 20, 32L << 20);
    }
}
