using System.Runtime.InteropServices;

namespace WavFusion.Core.Runtime;

/// <summary>
/// libtorch's CPU allocator is plain malloc/free, and glibc hands every block above its mmap threshold (128 KiB at
/// first, growing with use to at most 32 MiB) straight to the kernel and returns it on free. A wav2vec2 forward
/// allocates and frees activations of 1-100 MiB per layer, so each forward maps fresh pages and the kernel faults
/// and zeroes every one of them, which ONNX Runtime's arena (reusing its memory) never pays.
/// <see cref="RetainFreedMemory"/> tells glibc to serve blocks up to 32 MiB from its heap and to keep freed heap
/// memory for the next forward (the process stays at its working-set peak instead of returning it to the kernel
/// after every forward), which removes most of the faults (README, "Performance notes"). Nothing is set when the user tuned
/// malloc through <c>GLIBC_TUNABLES</c> or the <c>MALLOC_*_</c> variables, nor on a C library other than glibc.
/// </summary>
public static partial class NativeMemoryPolicy
{
    /// <summary>glibc's largest accepted mmap threshold on 64-bit (HEAP_MAX_SIZE / 2).</summary>
    public const long MmapThresholdBytes = 32L << 20;

    /// <summary>Free memory at the top of the heap kept rather than returned to the kernel.</summary>
    public const long TrimThresholdBytes = 1L << 30;

    /// <summary>
    /// Malloc arenas, one per core. glibc's default (8 per core) gives most threads of a live server their own arena,
    /// and each keeps up to <see cref="TrimThresholdBytes"/> of freed memory: a process with many pipeline threads
    /// grew by hundreds of MiB of kept free memory over ten minutes (bench live) while the memory in use stayed flat.
    /// </summary>
    public static int ArenaCount => Math.Max(2, Environment.ProcessorCount);

    /// <summary>Extra heap requested from the kernel whenever the heap grows, so growth happens in few, large steps.</summary>
    public const long TopPadBytes = 64L << 20;

    private const int MTrimThreshold = -1;
    private const int MTopPad = -2;
    private const int MMmapThreshold = -3;
    private const int MArenaMax = -8;

    private static readonly string[] UserVariables =
        ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_ARENA_MAX"];

    /// <summary>What is in effect, for benchmark headers: e.g. "glibc malloc keeps freed memory (mmap above 32 MiB)".</summary>
    public static string Describe() => s_applied switch
    {
        true => $"glibc malloc keeps freed memory (mmap above {MmapThresholdBytes >> 20} MiB)",
        false => "malloc as configured (" + (UserTuned() ? "user's GLIBC_TUNABLES/MALLOC_* settings" : "not glibc, or mallopt refused") + ")",
        null => "malloc defaults",
    };

    private static bool? s_applied;

    /// <summary>
    /// Applies the settings described on the type once per process. Returns whether they are in effect (false when the
    /// user tuned malloc, on a non-glibc C library, or when glibc refused a value).
    /// </summary>
    public static bool RetainFreedMemory()
    {
        if (s_applied is { } done) return done;
        bool applied = false;
        if (OperatingSystem.IsLinux() && !UserTuned() && IsGlibc())
        {
            applied = MallOpt(MMmapThreshold, (int)MmapThresholdBytes) == 1
                & MallOpt(MTrimThreshold, (int)TrimThresholdBytes) == 1
                & MallOpt(MTopPad, (int)TopPadBytes) == 1
                & MallOpt(MArenaMax, ArenaCount) == 1;
        }
        s_applied = applied;
        return applied;
    }

    private static bool UserTuned() =>
        (Environment.GetEnvironmentVariable("GLIBC_TUNABLES")?.Contains("glibc.malloc.", StringComparison.Ordinal) ?? false)
        || UserVariables.Any(v => Environment.GetEnvironmentVariable(v) is not null);

    private static bool IsGlibc()
    {
        try
        {
            return GnuGetLibcVersion() != IntPtr.Zero;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
        catch (DllNotFoundException)
        {
            return false;
        }
    }

    /// <summary>
    /// Returns the freed memory glibc keeps (in every arena, not only at the heap's top) to the kernel: malloc_trim(0).
    /// For a measurement that wants to tell what the policy retains from what is in use (`bench live --malloc-trim`).
    /// False off glibc or when nothing was released.
    /// </summary>
    public static bool TrimFreedMemory()
    {
        if (!OperatingSystem.IsLinux() || !IsGlibc()) return false;
        try
        {
            return MallocTrim(0) == 1;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int MallOpt(int parameter, int value);

    [LibraryImport("libc", EntryPoint = "gnu_get_libc_version")]
    private static partial IntPtr GnuGetLibcVersion();
}
