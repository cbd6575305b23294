using TorchSharp;
using WavFusion.Core.Quantization;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace WavFusion.Tests.Quantization;

/// <summary>
/// Every packed-weight kernel path (scalar, AVX2 and, where the CPU has it, AVX-512, each forced explicitly) against
/// float64 references, within the bounds the README states:
/// <list type="bullet">
/// <item>the kernel against the exact product of the weights it holds (the dequantised matrix):
/// |Δy| ≤ 2⁻¹⁶·Σ_blocks max|x_b|·Σ_{k∈b}|ŵ_k| (int8 only: the activations' int16 rounding) + 1e-5·Σ|ŵ_k·x_k| + 1e-6;</item>
/// <item>the packed layer against float32 weights: int8 adds Σ_b (scale_b / 2)·Σ_{k∈b}|x_k| (each weight off by at most
/// half its block's step), f16 adds 2⁻¹¹·Σ|w_k·x_k|.</item>
/// </list>
/// </summary>
public sealed class PackedMatrixTests(ITestOutputHelper output)
{
    public static TheoryData<string, string> Paths()
    {
        var data = new TheoryData<string, string>();
        foreach (var format in new[] { "int8", "f16" })
            foreach (var isa in KernelIsas.Names.Where(n => KernelIsas.IsSupported(KernelIsas.Parse(n))))
                data.Add(format, isa);
        return data;
    }

    /// <summary>Shapes decoding meets: odd row counts (chunk tails), 1-5 activation rows (beams), and past <see cref="PackedMatrix.SmallBatch"/>.</summary>
    private static readonly (int Rows, int Cols, int N)[] Shapes = [(37, 64, 1), (130, 512, 1), (64, 96, 3), (257, 160, 5), (16, 2048, 4), (45, 256, PackedMatrix.SmallBatch + 3)];

    [Theory]
    [MemberData(nameof(Paths))]
    public void Each_kernel_path_matches_the_float64_product_within_the_stated_bounds(string formatName, string isaName)
    {
        var format = WeightFormats.Parse(formatName);
        var isa = KernelIsas.Parse(isaName);
        torch.manual_seed(3);
        using var _ = torch.no_grad();
        double worstKernel = 0, worstWeights = 0;
        foreach (var (rows, cols, n) in Shapes)
        {
            using var scope = torch.NewDisposeScope();
            // Outlier rows and columns, as transformer activations have: blocks must not share one scale.
            var w = torch.randn(rows, cols).mul_(torch.rand(rows, 1).mul_(torch.tensor(2f)).add_(torch.tensor(0.01f))) * 0.05;
            var x = torch.randn(n, cols);
            x.select(1, 3).mul_(torch.tensor(40f));
            var bias = torch.randn(rows);
            using var packed = PackedMatrix.Pack(w, format, "w");
            var y = packed.Linear(x, bias, isa, new KernelThreads(1)).to(ScalarType.Float64);

            var held = packed.ToFloat32(0, rows).to(ScalarType.Float64);
            var x64 = x.to(ScalarType.Float64);
            var exact = nn.functional.linear(x64, held, bias.to(ScalarType.Float64));
            var magnitude = x64.abs().matmul(held.abs().t());
            var kernelBound = magnitude * 1e-5 + 1e-6;
            if (format == WeightFormat.Int8)
            {
                // Activations rounded to int16 per block: at most max|x_b| / 65534 each.
                var xBlocks = x64.abs().view(n, cols / PackedMatrix.BlockSize, PackedMatrix.BlockSize).amax([2]);
                var wBlocks = held.abs().view(rows, cols / PackedMatrix.BlockSize, PackedMatrix.BlockSize).sum([2]);
                kernelBound = kernelBound + xBlocks.matmul(wBlocks.t()) / 65534;
            }
            worstKernel = Math.Max(worstKernel, Within(exact, y, kernelBound, $"{formatName}/{isaName} [{rows}x{cols}] x {n}: kernel vs its own weights"));

            var reference = nn.functional.linear(x64, w.to(ScalarType.Float64), bias.to(ScalarType.Float64));
            Tensor weightBound;
            if (format == WeightFormat.Int8)
            {
                var step = w.to(ScalarType.Float64).abs().view(rows, cols / PackedMatrix.BlockSize, PackedMatrix.BlockSize).amax([2]) / 127;
                var xSums = x64.abs().view(n, cols / PackedMatrix.BlockSize, PackedMatrix.BlockSize).sum([2]);
                weightBound = xSums.matmul(step.t()) / 2;
            }
            else weightBound = x64.abs().matmul(w.to(ScalarType.Float64).abs().t()) * Math.Pow(2, -11);
            worstWeights = Math.Max(worstWeights, Within(reference, y, weightBound + kernelBound, $"{formatName}/{isaName} [{rows}x{cols}] x {n}: packed vs float32 weights"));
        }
        output.WriteLine($"{formatName}/{isaName}: worst error {worstKernel:F3} of the kernel bound, {worstWeights:F3} of the weight bound");
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    /// <summary>Asserts |expected − actual| ≤ bound elementwise; returns the worst ratio.</summary>
    private static double Within(Tensor expected, Tensor actual, Tensor bound, string what)
    {
        var ratio = (expected - actual).abs() / bound;
        double worst = ratio.max().item<double>();
        Assert.True(worst <= 1.0, $"{what}: error {worst:F2} times the bound at flat index {ratio.flatten().argmax().item<long>()}");
        return worst;
    }

    [Theory]
    [InlineData("int8")]
    [InlineData("f16")]
    public void Every_path_and_thread_count_computes_the_same_rows(string formatName)
    {
        var format = WeightFormats.Parse(formatName);
        torch.manual_seed(5);
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var w = torch.randn(1000, 256) * 0.1;
        var x = torch.randn(3, 256);
        using var packed = PackedMatrix.Pack(w, format, "w");
        var one = packed.Linear(x, null, KernelIsa.Scalar, new KernelThreads(1));
        foreach (var isa in Enum.GetValues<KernelIsa>().Where(KernelIsas.IsSupported))
        {
            var single = packed.Linear(x, null, isa, new KernelThreads(1));
            using var pool = new KernelThreads(3);
            // A row's result does not depend on which thread computed it: any difference is a race or a chunking bug.
            for (int repeat = 0; repeat < 5; repeat++)
                Assert.True(Same(single, packed.Linear(x, null, isa, pool)), $"{formatName}/{isa}: three threads differ from one");
            double diff = (single - one).abs().max().item<float>();
            Assert.True(diff <= 1e-4 * one.abs().max().item<float>(), $"{formatName}/{isa} differs from the scalar path by {diff:E2}");
        }
    }

    [Fact]
    public void Slices_of_a_concatenation_multiply_as_their_parts_and_gather_returns_the_held_rows()
    {
        torch.manual_seed(9);
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var a = torch.randn(40, 64);
        var b = torch.randn(24, 64);
        var x = torch.randn(2, 64);
        using var pa = PackedMatrix.Pack(a, WeightFormat.Int8, "a");
        using var pb = PackedMatrix.Pack(b, WeightFormat.Int8, "b");
        using var both = PackedMatrix.Concat([pa, pb]);
        Assert.Equal(64, both.Rows);
        Assert.True(Same(torch.cat([pa.Linear(x, null, threads: new KernelThreads(1)), pb.Linear(x, null, threads: new KernelThreads(1))], 1), both.Linear(x, null, threads: new KernelThreads(1))));
        using var tail = both.Slice(40, 24);
        Assert.True(Same(pb.Linear(x, null, threads: new KernelThreads(1)), tail.Linear(x, null, threads: new KernelThreads(1))));
        Assert.Equal(24 * 64 + 24 * 2 * 4, tail.ByteCount);

        var ids = torch.tensor(new long[] { 3, 63, 0, 3 }, [2, 2]);
        var rows = both.Gather(ids);
        Assert.Equal([2L, 2, 64], rows.shape);
        var table = both.ToFloat32(0, 64);
        Assert.True(Same(rows.view(4, 64), table.index_select(0, ids.flatten())));
        Assert.Throws<ArgumentOutOfRangeException>(() => both.Gather(torch.tensor(new long[] { 64 })));
        // A view dies with its parent.
        both.Dispose();
        Assert.Throws<ObjectDisposedException>(() => tail.Linear(x, null));
    }

    [Fact]
    public void Wider_inputs_use_libtorch_on_the_widened_weights_and_agree_with_the_kernels()
    {
        torch.manual_seed(2);
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var w = torch.randn(300, 128);
        var x = torch.randn(2, PackedMatrix.SmallBatch + 1, 128);
        using var packed = PackedMatrix.Pack(w, WeightFormat.Int8, "w");
        var wide = packed.Linear(x, null);
        Assert.Equal([2L, PackedMatrix.SmallBatch + 1, 300], wide.shape);
        var narrow = torch.cat(Enumerable.Range(0, 2).Select(i => packed.Linear(x[i], null).unsqueeze(0)).ToList(), 0);
        // Each row of the wide input as its own small batch goes through the kernels.
        var perRow = torch.stack(Enumerable.Range(0, (int)x.shape[1]).Select(t => packed.Linear(x.select(1, t), null)).ToList(), 1);
        // The GEMM path multiplies float32 activations; the kernels round them to int16 blocks (the kernel bound above).
        var held = packed.ToFloat32(0, 300).abs();
        var xBlocks = x.abs().view(2, -1, 4, PackedMatrix.BlockSize).amax([3]);
        var bound = xBlocks.matmul(held.view(300, 4, PackedMatrix.BlockSize).sum([2]).t()) / 65534 + x.abs().matmul(held.t()) * 2e-5 + 1e-5;
        Assert.True((wide - perRow).abs().le(bound).all().item<bool>(), "kernel and GEMM paths disagree beyond the activations' rounding");
        Assert.True((wide - narrow).abs().le(bound).all().item<bool>());
    }

    [Fact]
    public void Packing_rejects_what_it_would_silently_change()
    {
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var nan = torch.zeros(2, 32);
        nan[1, 5] = torch.tensor(float.NaN);
        Assert.Contains("not finite", Assert.Throws<ArgumentException>(() => PackedMatrix.Pack(nan, WeightFormat.Int8, "layer.w")).Message);
        var big = torch.zeros(2, 32);
        big[0, 0] = torch.tensor(1e6f);
        Assert.Contains("does not fit f16", Assert.Throws<ArgumentException>(() => PackedMatrix.Pack(big, WeightFormat.F16, "layer.w")).Message);
        Assert.Contains("multiple of 32", Assert.Throws<ArgumentException>(() => PackedMatrix.Pack(torch.zeros(2, 40), WeightFormat.Int8, "w")).Message);
        Assert.Throws<ArgumentException>(() => PackedMatrix.Pack(torch.zeros(2, 32), WeightFormat.Fp32, "w"));
        using var packed = PackedMatrix.Pack(torch.zeros(4, 32), WeightFormat.F16, "w");
        Assert.Contains("32 features", Assert.Throws<ArgumentException>(() => packed.Linear(torch.zeros(1, 31), null)).Message);
        Assert.Contains("float32", Assert.Throws<ArgumentException>(() => packed.Linear(torch.zeros(1, 32, ScalarType.Float64), null)).Message);
    }

    [Fact]
    public void Kernel_paths_and_formats_parse_and_the_cpu_check_names_the_best_path()
    {
        Assert.Equal(KernelIsa.Avx2, KernelIsas.Parse("AVX2"));
        Assert.Equal(WeightFormat.Int8, WeightFormats.Parse(" int8 "));
        Assert.Contains("fp32, f16, int8", Assert.Throws<ArgumentException>(() => WeightFormats.Parse("int4")).Message);
        Assert.Contains("scalar, avx2, avx512", Assert.Throws<ArgumentException>(() => KernelIsas.Parse("sse")).Message);
        Assert.True(KernelIsas.IsSupported(KernelIsa.Scalar));
        if (KernelIsas.Best < KernelIsa.Avx512)
            Assert.Contains("not available on this CPU", Assert.Throws<PlatformNotSupportedException>(() => KernelIsas.Require(KernelIsa.Avx512)).Message);
        output.WriteLine($"best kernel path here: {KernelIsas.Name(KernelIsas.Best)}; default {KernelIsas.Name(KernelIsas.Default)}");
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 2)]
    public void Half_key_values_attend_like_float32_attention(int rows, int tokens)
    {
        torch.manual_seed(4);
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        const int heads = 4, positions = 300, dim = 64;
        var k = torch.randn(1, heads, positions, dim);
        var v = torch.randn(1, heads, positions, dim);
        var q = torch.randn(rows, heads, tokens, dim) * 2;
        using var kv = HalfKeyValues.TryCreate(k, v)!;
        var expected = nn.functional.scaled_dot_product_attention(q, k.expand(rows, -1, -1, -1), v.expand(rows, -1, -1, -1));
        foreach (var isa in Enum.GetValues<KernelIsa>().Where(KernelIsas.IsSupported))
        {
            var actual = kv.Attend(q, isa, new KernelThreads(2));
            double diff = (actual - expected).abs().max().item<float>();
            // Keys and values rounded to f16 (relative 2⁻¹¹): outputs within 1e-2 of max|V| here (stated bound: 2⁻⁸·max|V|).
            Assert.True(diff <= Math.Pow(2, -8) * v.abs().max().item<float>(), $"{isa}: max |diff| {diff:E2}");
            output.WriteLine($"{isa}: rows {rows}, tokens {tokens}: max |diff| {diff:E2}");
        }
        var huge = k.clone();
        huge[0, 0, 0, 0] = torch.tensor(1e6f);
        Assert.Null(HalfKeyValues.TryCreate(huge, v));
    }
}
