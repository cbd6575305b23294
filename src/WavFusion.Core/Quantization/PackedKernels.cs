using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace WavFusion.Core.Quantization;

/// <summary>
/// Matrix × small-batch products over packed weights: y[j·yStride + r] = bias[r] + Σ_c W[r, c]·x[j·cols + c] for the
/// rows r of one range and every activation row j. They are written for decoding, where a step multiplies one (or a
/// beam's few) activation rows by every weight matrix and is bound by reading the weights: each weight row is read
/// once and widened once, then used for up to four activation rows held in registers.
/// </summary>
/// <remarks>
/// int8 rows hold <see cref="PackedMatrix.BlockSize"/>-value blocks, each with a float32 scale: a block's dot product
/// is summed first (in integers, see <see cref="Int8"/>) and scaled once. f16 values are multiplied with float32
/// activations by fused multiply-adds; they are widened without F16C (not exposed by .NET): sign-extending the
/// 16 bits, shifting them left by 13 and clearing bits 28-30 leaves the sign, the 5-bit exponent and the mantissa where
/// a float32 keeps them, and multiplying by 2^112 re-biases the exponent (subnormal halves come out exact too;
/// infinities and NaNs would not, and <see cref="PackedMatrix"/> rejects them when it packs).
/// </remarks>
internal static unsafe class PackedKernels
{
    private const int Block = PackedMatrix.BlockSize;
    private const float HalfRebias = 5.192296858534828e33f; // 2^112

    /// <summary>
    /// int8 weights against activations given as int16 with one float32 scale per block (<see cref="QuantizeActivations"/>):
    /// each block's dot product is an exact integer (|q_w·q_x| ≤ 127·32767, 32 of them < 2²⁴, so exact in float32 too),
    /// scaled once by both scales. Widening int8 to int16 and multiply-adding pairs (pmaddwd) takes half the
    /// instructions of widening both to float32, and 16-bit activations keep 200 times the precision of the weights.
    /// </summary>
    public static void Int8(KernelIsa isa, sbyte* q, float* scales, int cols, short* xq, float* xs, int n, float* y, int yStride, float* bias, int r0, int r1)
    {
        switch (isa)
        {
            case KernelIsa.Avx512: Int8Rows<Int8Avx512Rows>(q, scales, cols, xq, xs, n, y, yStride, bias, r0, r1); break;
            case KernelIsa.Avx2: Int8Rows<Int8Avx2Rows>(q, scales, cols, xq, xs, n, y, yStride, bias, r0, r1); break;
            default: Int8Scalar(q, scales, cols, xq, xs, n, y, yStride, bias, r0, r1); break;
        }
    }

    /// <summary>
    /// Rounds <paramref name="n"/> rows of float32 activations to int16 per <see cref="Block"/>-value block:
    /// scale = max|x| / 32767, so each value is off by at most scale / 2 (2⁻¹⁶ of its block's largest). Non-finite
    /// activations give NaN outputs, as a float32 product would.
    /// </summary>
    public static void QuantizeActivations(KernelIsa isa, float* x, int n, int cols, short* xq, float* xs)
    {
        int blocks = cols / Block;
        for (long k = 0; k < (long)n * blocks; k++)
        {
            float* v = x + k * Block;
            short* dst = xq + k * Block;
            float amax;
            if (isa != KernelIsa.Scalar)
            {
                var mask = Vector256.Create(0x7FFFFFFF).AsSingle();
                var m = Avx.Max(Avx.Max(Avx.And(Avx.LoadVector256(v), mask), Avx.And(Avx.LoadVector256(v + 8), mask)),
                                Avx.Max(Avx.And(Avx.LoadVector256(v + 16), mask), Avx.And(Avx.LoadVector256(v + 24), mask)));
                var m128 = Vector128.Max(m.GetLower(), m.GetUpper());
                m128 = Vector128.Max(m128, Sse.Shuffle(m128, m128, 0b_01_00_11_10));
                m128 = Vector128.Max(m128, Sse.Shuffle(m128, m128, 0b_10_11_00_01));
                amax = m128.ToScalar();
            }
            else
            {
                amax = 0;
                for (int i = 0; i < Block; i++) amax = Math.Max(amax, Math.Abs(v[i]));
            }
            if (!float.IsFinite(amax))
            {
                xs[k] = float.NaN;
                for (int i = 0; i < Block; i++) dst[i] = 0;
                continue;
            }
            float scale = amax / 32767f;
            xs[k] = scale;
            float inverse = scale == 0 ? 0 : 1f / scale;
            if (isa != KernelIsa.Scalar)
            {
                var iv = Vector256.Create(inverse);
                // cvtps2dq rounds to nearest even; packssdw interleaves 128-bit lanes, which the permute undoes.
                var a = Avx.ConvertToVector256Int32(Avx.Multiply(Avx.LoadVector256(v), iv));
                var b = Avx.ConvertToVector256Int32(Avx.Multiply(Avx.LoadVector256(v + 8), iv));
                var c = Avx.ConvertToVector256Int32(Avx.Multiply(Avx.LoadVector256(v + 16), iv));
                var d = Avx.ConvertToVector256Int32(Avx.Multiply(Avx.LoadVector256(v + 24), iv));
                Avx.Store(dst, Avx2.Permute4x64(Avx2.PackSignedSaturate(a, b).AsInt64(), 0b_11_01_10_00).AsInt16());
                Avx.Store(dst + 16, Avx2.Permute4x64(Avx2.PackSignedSaturate(c, d).AsInt64(), 0b_11_01_10_00).AsInt16());
            }
            else
            {
                for (int i = 0; i < Block; i++) dst[i] = (short)Math.Clamp(MathF.Round(v[i] * inverse, MidpointRounding.ToEven), -32767f, 32767f);
            }
        }
    }

    public static void F16(KernelIsa isa, ushort* h, int cols, float* x, int n, float* y, int yStride, float* bias, int r0, int r1)
    {
        switch (isa)
        {
            case KernelIsa.Avx512: F16Rows<F16Avx512Rows>(h, cols, x, n, y, yStride, bias, r0, r1); break;
            case KernelIsa.Avx2: F16Rows<F16Avx2Rows>(h, cols, x, n, y, yStride, bias, r0, r1); break;
            default: F16Scalar(h, cols, x, n, y, yStride, bias, r0, r1); break;
        }
    }

    // ---------------------------------------------------------------- scalar

    private static void Int8Scalar(sbyte* q, float* scales, int cols, short* xq, float* xs, int n, float* y, int yStride, float* bias, int r0, int r1)
    {
        int blocks = cols / Block;
        for (int r = r0; r < r1; r++)
        {
            sbyte* w = q + (long)r * cols;
            float* s = scales + (long)r * blocks;
            for (int j = 0; j < n; j++)
            {
                short* xj = xq + (long)j * cols;
                float* sj = xs + (long)j * blocks;
                float sum = 0;
                for (int b = 0; b < blocks; b++)
                {
                    int block = 0;
                    for (int i = 0; i < Block; i++) block += w[b * Block + i] * xj[b * Block + i];
                    sum += block * (s[b] * sj[b]);
                }
                y[(long)j * yStride + r] = bias is null ? sum : sum + bias[r];
            }
        }
    }

    private static void F16Scalar(ushort* h, int cols, float* x, int n, float* y, int yStride, float* bias, int r0, int r1)
    {
        for (int r = r0; r < r1; r++)
        {
            ushort* w = h + (long)r * cols;
            for (int j = 0; j < n; j++)
            {
                float* xj = x + (long)j * cols;
                float sum = 0;
                for (int c = 0; c < cols; c++) sum += (float)BitConverter.UInt16BitsToHalf(w[c]) * xj[c];
                y[(long)j * yStride + r] = bias is null ? sum : sum + bias[r];
            }
        }
    }

    // ---------------------------------------------------------------- row loops shared by the vector paths

    /// <summary>An ISA's int8 kernels for one weight row against one or four activation rows.</summary>
    private interface IInt8Rows
    {
        static abstract float Row1(sbyte* w, float* s, int blocks, short* x, float* xs);

        static abstract void Row4(sbyte* w, float* s, int blocks, int cols, short* x, float* xs, float* y, int yStride, float bias);
    }

    /// <summary>An ISA's f16 kernels for one weight row against one or four activation rows.</summary>
    private interface IF16Rows
    {
        static abstract float Row1(ushort* w, int cols, float* x);

        static abstract void Row4(ushort* w, int cols, float* x, float* y, int yStride, float bias);
    }

    private readonly struct Int8Avx2Rows : IInt8Rows
    {
        public static float Row1(sbyte* w, float* s, int blocks, short* x, float* xs) => Int8Avx2Row1(w, s, blocks, x, xs);

        public static void Row4(sbyte* w, float* s, int blocks, int cols, short* x, float* xs, float* y, int yStride, float bias) =>
            Int8Avx2Row4(w, s, blocks, cols, x, xs, y, yStride, bias);
    }

    private readonly struct Int8Avx512Rows : IInt8Rows
    {
        public static float Row1(sbyte* w, float* s, int blocks, short* x, float* xs) => Int8Avx512Row1(w, s, blocks, x, xs);

        public static void Row4(sbyte* w, float* s, int blocks, int cols, short* x, float* xs, float* y, int yStride, float bias) =>
            Int8Avx512Row4(w, s, blocks, cols, x, xs, y, yStride, bias);
    }

    private readonly struct F16Avx2Rows : IF16Rows
    {
        public static float Row1(ushort* w, int cols, float* x) => F16Avx2Row1(w, cols, x);

        public static void Row4(ushort* w, int cols, float* x, float* y, int yStride, float bias) => F16Avx2Row4(w, cols, x, y, yStride, bias);
    }

    private readonly struct F16Avx512Rows : IF16Rows
    {
        public static float Row1(ushort* w, int cols, float* x) => F16Avx512Row1(w, cols, x);

        public static void Row4(ushort* w, int cols, float* x, float* y, int yStride, float bias) => F16Avx512Row4(w, cols, x, y, yStride, bias);
    }

    /// <summary>
    /// Rows r0..r1 of an int8 matrix against n activation rows, four at a time where it can (each weight block is
    /// widened once for four), with the next rows prefetched. The kernel type is a struct, so each ISA gets its own
    /// compiled loop with the row kernels inlined.
    /// </summary>
    private static void Int8Rows<TKernel>(sbyte* q, float* scales, int cols, short* xq, float* xs, int n, float* y, int yStride, float* bias, int r0, int r1)
        where TKernel : struct, IInt8Rows
    {
        int blocks = cols / Block;
        for (int r = r0; r < r1; r++)
        {
            Prefetch((byte*)q, cols, scales, blocks, r, r1);
            sbyte* w = q + (long)r * cols;
            float* s = scales + (long)r * blocks;
            float b = bias is null ? 0f : bias[r];
            int j = 0;
            for (; j + 4 <= n; j += 4) TKernel.Row4(w, s, blocks, cols, xq + (long)j * cols, xs + (long)j * blocks, y + (long)j * yStride + r, yStride, b);
            for (; j < n; j++) y[(long)j * yStride + r] = TKernel.Row1(w, s, blocks, xq + (long)j * cols, xs + (long)j * blocks) + b;
        }
    }

    /// <summary>Rows r0..r1 of an f16 matrix against n activation rows; as <see cref="Int8Rows{TKernel}"/>.</summary>
    private static void F16Rows<TKernel>(ushort* h, int cols, float* x, int n, float* y, int yStride, float* bias, int r0, int r1)
        where TKernel : struct, IF16Rows
    {
        for (int r = r0; r < r1; r++)
        {
            Prefetch((byte*)h, 2L * cols, null, 0, r, r1);
            ushort* w = h + (long)r * cols;
            float b = bias is null ? 0f : bias[r];
            int j = 0;
            for (; j + 4 <= n; j += 4) TKernel.Row4(w, cols, x + (long)j * cols, y + (long)j * yStride + r, yStride, b);
            for (; j < n; j++) y[(long)j * yStride + r] = TKernel.Row1(w, cols, x + (long)j * cols) + b;
        }
    }

    // ---------------------------------------------------------------- AVX2 + FMA

    /// <summary>One block's integer dot product as 8 int32 lanes: 32 int8 weights widened to int16, pmaddwd with 32 int16 activations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> BlockDot(Vector256<short> w0, Vector256<short> w1, short* x) =>
        Avx2.Add(Avx2.MultiplyAddAdjacent(w0, Avx.LoadVector256(x)), Avx2.MultiplyAddAdjacent(w1, Avx.LoadVector256(x + 16)));

    /// <summary>How far ahead of the row being multiplied its successors' weights are prefetched, in bytes.</summary>
    private const int PrefetchBytes = 4096;

    /// <summary>
    /// Asks for the row <see cref="PrefetchBytes"/> ahead of row <paramref name="r"/> (and its scales) early. A row is
    /// consumed faster than its cache lines arrive from L3 or memory, and weights and scales are two streams the
    /// hardware prefetcher follows late: with this the 51,865-row int8 output projection took 25-35 % less CPU time
    /// from a cold cache (AVX2 and AVX-512 alike).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Prefetch(byte* rows, long rowBytes, float* scales, int blocks, int r, int r1)
    {
        int ahead = r + (int)((PrefetchBytes + rowBytes - 1) / rowBytes);
        if (ahead >= r1) return;
        byte* w = rows + ahead * rowBytes;
        for (long c = 0; c < rowBytes; c += 64) Sse.Prefetch0(w + c);
        if (scales is not null) Sse.Prefetch0(scales + (long)ahead * blocks);
    }

    private static float Int8Avx2Row1(sbyte* w, float* s, int blocks, short* x, float* xs)
    {
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        int b = 0;
        for (; b + 2 <= blocks; b += 2, w += 2 * Block, x += 2 * Block)
        {
            var d0 = BlockDot(Avx2.ConvertToVector256Int16(w), Avx2.ConvertToVector256Int16(w + 16), x);
            var d1 = BlockDot(Avx2.ConvertToVector256Int16(w + 32), Avx2.ConvertToVector256Int16(w + 48), x + 32);
            acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(d0), Vector256.Create(s[b] * xs[b]), acc0);
            acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(d1), Vector256.Create(s[b + 1] * xs[b + 1]), acc1);
        }
        if (b < blocks)
        {
            var d0 = BlockDot(Avx2.ConvertToVector256Int16(w), Avx2.ConvertToVector256Int16(w + 16), x);
            acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(d0), Vector256.Create(s[b] * xs[b]), acc0);
        }
        return Vector256.Sum(Avx.Add(acc0, acc1));
    }

    /// <summary>One weight row against four activation rows: each block is widened once and used four times.</summary>
    private static void Int8Avx2Row4(sbyte* w, float* s, int blocks, int cols, short* x, float* xs, float* y, int yStride, float bias)
    {
        short* x1 = x + cols, x2 = x1 + cols, x3 = x2 + cols;
        float* s1 = xs + blocks, s2 = s1 + blocks, s3 = s2 + blocks;
        var a0 = Vector256<float>.Zero;
        var a1 = Vector256<float>.Zero;
        var a2 = Vector256<float>.Zero;
        var a3 = Vector256<float>.Zero;
        for (int b = 0, o = 0; b < blocks; b++, o += Block)
        {
            var w0 = Avx2.ConvertToVector256Int16(w + o);
            var w1 = Avx2.ConvertToVector256Int16(w + o + 16);
            float scale = s[b];
            a0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(BlockDot(w0, w1, x + o)), Vector256.Create(scale * xs[b]), a0);
            a1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(BlockDot(w0, w1, x1 + o)), Vector256.Create(scale * s1[b]), a1);
            a2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(BlockDot(w0, w1, x2 + o)), Vector256.Create(scale * s2[b]), a2);
            a3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(BlockDot(w0, w1, x3 + o)), Vector256.Create(scale * s3[b]), a3);
        }
        y[0] = Vector256.Sum(a0) + bias;
        y[yStride] = Vector256.Sum(a1) + bias;
        y[2L * yStride] = Vector256.Sum(a2) + bias;
        y[3L * yStride] = Vector256.Sum(a3) + bias;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Half8(ushort* p)
    {
        var bits = Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32((short*)p), 13);
        bits = Avx2.And(bits, Vector256.Create(unchecked((int)0x8FFFFFFF)));
        return Avx.Multiply(bits.AsSingle(), Vector256.Create(HalfRebias));
    }

    private static float F16Avx2Row1(ushort* w, int cols, float* x)
    {
        // Four accumulators: each fused multiply-add waits on the previous one of its chain.
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        var acc2 = Vector256<float>.Zero;
        var acc3 = Vector256<float>.Zero;
        int c = 0;
        for (; c + 32 <= cols; c += 32)
        {
            acc0 = Fma.MultiplyAdd(Half8(w + c), Avx.LoadVector256(x + c), acc0);
            acc1 = Fma.MultiplyAdd(Half8(w + c + 8), Avx.LoadVector256(x + c + 8), acc1);
            acc2 = Fma.MultiplyAdd(Half8(w + c + 16), Avx.LoadVector256(x + c + 16), acc2);
            acc3 = Fma.MultiplyAdd(Half8(w + c + 24), Avx.LoadVector256(x + c + 24), acc3);
        }
        for (; c + 8 <= cols; c += 8) acc0 = Fma.MultiplyAdd(Half8(w + c), Avx.LoadVector256(x + c), acc0);
        float sum = Vector256.Sum(Avx.Add(Avx.Add(acc0, acc1), Avx.Add(acc2, acc3)));
        for (; c < cols; c++) sum += (float)BitConverter.UInt16BitsToHalf(w[c]) * x[c];
        return sum;
    }

    private static void F16Avx2Row4(ushort* w, int cols, float* x, float* y, int yStride, float bias)
    {
        float* x1 = x + cols, x2 = x1 + cols, x3 = x2 + cols;
        var a0 = Vector256<float>.Zero;
        var a1 = Vector256<float>.Zero;
        var a2 = Vector256<float>.Zero;
        var a3 = Vector256<float>.Zero;
        int c = 0;
        for (; c + 8 <= cols; c += 8)
        {
            var v = Half8(w + c);
            a0 = Fma.MultiplyAdd(v, Avx.LoadVector256(x + c), a0);
            a1 = Fma.MultiplyAdd(v, Avx.LoadVector256(x1 + c), a1);
            a2 = Fma.MultiplyAdd(v, Avx.LoadVector256(x2 + c), a2);
            a3 = Fma.MultiplyAdd(v, Avx.LoadVector256(x3 + c), a3);
        }
        float s0 = Vector256.Sum(a0), s1 = Vector256.Sum(a1), s2 = Vector256.Sum(a2), s3 = Vector256.Sum(a3);
        for (; c < cols; c++)
        {
            float v = (float)BitConverter.UInt16BitsToHalf(w[c]);
            s0 += v * x[c];
            s1 += v * x1[c];
            s2 += v * x2[c];
            s3 += v * x3[c];
        }
        y[0] = s0 + bias;
        y[yStride] = s1 + bias;
        y[2L * yStride] = s2 + bias;
        y[3L * yStride] = s3 + bias;
    }

    // ---------------------------------------------------------------- AVX-512

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Widen32(sbyte* p) => Avx512BW.ConvertToVector512Int16(Vector256.Load(p));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> BlockDot(Vector512<short> w, short* x, float scale, Vector512<float> acc) =>
        Avx512F.FusedMultiplyAdd(Avx512F.ConvertToVector512Single(Avx512BW.MultiplyAddAdjacent(w, Vector512.Load(x))), Vector512.Create(scale), acc);

    private static float Int8Avx512Row1(sbyte* w, float* s, int blocks, short* x, float* xs)
    {
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        int b = 0;
        for (; b + 2 <= blocks; b += 2, w += 2 * Block, x += 2 * Block)
        {
            acc0 = BlockDot(Widen32(w), x, s[b] * xs[b], acc0);
            acc1 = BlockDot(Widen32(w + 32), x + 32, s[b + 1] * xs[b + 1], acc1);
        }
        if (b < blocks) acc0 = BlockDot(Widen32(w), x, s[b] * xs[b], acc0);
        return Vector512.Sum(Avx512F.Add(acc0, acc1));
    }

    private static void Int8Avx512Row4(sbyte* w, float* s, int blocks, int cols, short* x, float* xs, float* y, int yStride, float bias)
    {
        short* x1 = x + cols, x2 = x1 + cols, x3 = x2 + cols;
        float* s1 = xs + blocks, s2 = s1 + blocks, s3 = s2 + blocks;
        var a0 = Vector512<float>.Zero;
        var a1 = Vector512<float>.Zero;
        var a2 = Vector512<float>.Zero;
        var a3 = Vector512<float>.Zero;
        for (int b = 0, o = 0; b < blocks; b++, o += Block)
        {
            var wb = Widen32(w + o);
            float scale = s[b];
            a0 = BlockDot(wb, x + o, scale * xs[b], a0);
            a1 = BlockDot(wb, x1 + o, scale * s1[b], a1);
            a2 = BlockDot(wb, x2 + o, scale * s2[b], a2);
            a3 = BlockDot(wb, x3 + o, scale * s3[b], a3);
        }
        y[0] = Vector512.Sum(a0) + bias;
        y[yStride] = Vector512.Sum(a1) + bias;
        y[2L * yStride] = Vector512.Sum(a2) + bias;
        y[3L * yStride] = Vector512.Sum(a3) + bias;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Half16(ushort* p)
    {
        var bits = Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512Int32(Vector256.Load((short*)p)), 13);
        bits = Avx512F.And(bits, Vector512.Create(unchecked((int)0x8FFFFFFF)));
        return Avx512F.Multiply(bits.AsSingle(), Vector512.Create(HalfRebias));
    }

    private static float F16Avx512Row1(ushort* w, int cols, float* x)
    {
        var acc0 = Vector512<float>.Zero;
        var acc1 = Vector512<float>.Zero;
        var acc2 = Vector512<float>.Zero;
        var acc3 = Vector512<float>.Zero;
        int c = 0;
        for (; c + 64 <= cols; c += 64)
        {
            acc0 = Avx512F.FusedMultiplyAdd(Half16(w + c), Vector512.Load(x + c), acc0);
            acc1 = Avx512F.FusedMultiplyAdd(Half16(w + c + 16), Vector512.Load(x + c + 16), acc1);
            acc2 = Avx512F.FusedMultiplyAdd(Half16(w + c + 32), Vector512.Load(x + c + 32), acc2);
            acc3 = Avx512F.FusedMultiplyAdd(Half16(w + c + 48), Vector512.Load(x + c + 48), acc3);
        }
        for (; c + 16 <= cols; c += 16) acc0 = Avx512F.FusedMultiplyAdd(Half16(w + c), Vector512.Load(x + c), acc0);
        float sum = Vector512.Sum(Avx512F.Add(Avx512F.Add(acc0, acc1), Avx512F.Add(acc2, acc3)));
        for (; c < cols; c++) sum += (float)BitConverter.UInt16BitsToHalf(w[c]) * x[c];
        return sum;
    }

    private static void F16Avx512Row4(ushort* w, int cols, float* x, float* y, int yStride, float bias)
    {
        float* x1 = x + cols, x2 = x1 + cols, x3 = x2 + cols;
        var a0 = Vector512<float>.Zero;
        var a1 = Vector512<float>.Zero;
        var a2 = Vector512<float>.Zero;
        var a3 = Vector512<float>.Zero;
        int c = 0;
        for (; c + 16 <= cols; c += 16)
        {
            var v = Half16(w + c);
            a0 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(x + c), a0);
            a1 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(x1 + c), a1);
            a2 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(x2 + c), a2);
            a3 = Avx512F.FusedMultiplyAdd(v, Vector512.Load(x3 + c), a3);
        }
        float s0 = Vector512.Sum(a0), s1 = Vector512.Sum(a1), s2 = Vector512.Sum(a2), s3 = Vector512.Sum(a3);
        for (; c < cols; c++)
        {
            float v = (float)BitConverter.UInt16BitsToHalf(w[c]);
            s0 += v * x[c];
            s1 += v * x1[c];
            s2 += v * x2[c];
            s3 += v * x3[c];
        }
        y[0] = s0 + bias;
        y[yStride] = s1 + bias;
        y[2L * yStride] = s2 + bias;
        y[3L * yStride] = s3 + bias;
    }

    // ---------------------------------------------------------------- widening (embedding rows, large batches)

    /// <summary>Row <paramref name="r"/> of an int8 matrix as float32 (each value times its block's scale).</summary>
    public static void Int8Row(KernelIsa isa, sbyte* q, float* scales, int cols, long r, float* dst)
    {
        int blocks = cols / Block;
        sbyte* w = q + r * cols;
        float* s = scales + r * blocks;
        if (isa == KernelIsa.Scalar)
        {
            for (int b = 0; b < blocks; b++)
            {
                float scale = s[b];
                for (int i = 0; i < Block; i++) dst[b * Block + i] = w[b * Block + i] * scale;
            }
            return;
        }
        for (int b = 0, o = 0; b < blocks; b++, o += Block)
        {
            var scale = Vector256.Create(s[b]);
            for (int i = 0; i < Block; i += 8)
                Avx.Store(dst + o + i, Avx.Multiply(Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(w + o + i)), scale));
        }
    }

    public static void F16Row(KernelIsa isa, ushort* h, int cols, long r, float* dst)
    {
        ushort* w = h + r * cols;
        int c = 0;
        if (isa != KernelIsa.Scalar)
            for (; c + 8 <= cols; c += 8) Avx.Store(dst + c, Half8(w + c));
        for (; c < cols; c++) dst[c] = (float)BitConverter.UInt16BitsToHalf(w[c]);
    }
}
