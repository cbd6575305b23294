using System.Runtime.Intrinsics.X86;

namespace WavFusion.Core.Quantization;

/// <summary>The instruction sets the packed-weight kernels are written for, slowest first.</summary>
public enum KernelIsa
{
    /// <summary>Plain C#, any CPU: the reference the vector paths are tested against.</summary>
    Scalar,
    /// <summary>AVX2 + FMA, 8 floats a register: every x86-64 server of the last decade.</summary>
    Avx2,
    /// <summary>AVX-512 F + BW, 16 floats a register.</summary>
    Avx512,
}

/// <summary>
/// Which kernel path runs. The best the CPU has is the default; <see cref="Variable"/> forces a slower one for the
/// whole process (to measure on an AVX-512 machine what an AVX2-only one would do), and every kernel entry point also
/// takes an explicit path, which the tests use to check each one on the same machine.
/// </summary>
/// <remarks>
/// .NET 10 exposes neither F16C (<c>vcvtph2ps</c>) nor AVX-512 VNNI as intrinsics, so f16 weights are widened with
/// integer shifts (four instructions per register) and no path uses VNNI: the int8 dot products with fp32 activations
/// widen the weights to float and use FMA, which keeps the activations exact; VNNI would need them quantised to int8.
/// </remarks>
public static class KernelIsas
{
    /// <summary>Environment variable that forces a path: scalar, avx2 or avx512 (never one the CPU lacks).</summary>
    public const string Variable = "WAVFUSION_KERNEL_ISA";

    public static IReadOnlyList<string> Names { get; } = ["scalar", "avx2", "avx512"];

    /// <summary>The fastest path this CPU runs.</summary>
    public static KernelIsa Best { get; } =
        Avx512F.IsSupported && Avx512BW.IsSupported ? KernelIsa.Avx512
        : Avx2.IsSupported && Fma.IsSupported ? KernelIsa.Avx2
        : KernelIsa.Scalar;

    private static readonly Lazy<KernelIsa> FromEnvironment = new(() =>
    {
        string? value = Environment.GetEnvironmentVariable(Variable);
        return string.IsNullOrWhiteSpace(value) ? Best : Require(Parse(value, Variable));
    });

    private static KernelIsa? _forced;

    /// <summary>The path the layers use: <see cref="Best"/>, or what <see cref="Force"/> or <see cref="Variable"/> forces.</summary>
    public static KernelIsa Default => _forced ?? FromEnvironment.Value;

    /// <summary>Makes every layer of the process use <paramref name="isa"/> (a benchmark's <c>--isa</c>); null restores the default.</summary>
    public static void Force(KernelIsa? isa) => _forced = isa is { } i ? Require(i) : null;

    public static bool IsSupported(KernelIsa isa) => isa <= Best;

    public static KernelIsa Parse(string name, string what = "--isa") => name.Trim().ToLowerInvariant() switch
    {
        "scalar" => KernelIsa.Scalar,
        "avx2" => KernelIsa.Avx2,
        "avx512" or "avx-512" => KernelIsa.Avx512,
        _ => throw new ArgumentException($"{what}: '{name}' is not a kernel path ({string.Join(", ", Names)})"),
    };

    /// <summary>Returns <paramref name="isa"/>, or throws naming what the CPU has when it cannot run it.</summary>
    public static KernelIsa Require(KernelIsa isa) => IsSupported(isa)
        ? isa
        : throw new PlatformNotSupportedException($"kernel path {Name(isa)} is not available on this CPU (best: {Name(Best)})");

    public static string Name(KernelIsa isa) => Names[(int)isa];
}
