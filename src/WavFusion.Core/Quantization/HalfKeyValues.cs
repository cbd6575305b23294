using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;

namespace WavFusion.Core.Quantization;

/// <summary>
/// The keys and values of one audio for attention by a few queries at a time (a decoder's cross-attention), held
/// as f16 in native memory and attended on <see cref="KernelThreads"/>. A decoding step reads every cached key and
/// value once per layer: 6 MB per layer for 30 s of Whisper base in float32, as many bytes per token as the int8
/// weights of the whole decoder. Half precision halves that (whisper.cpp keeps its cross-attention cache in f16 too),
/// and the heads split over the kernel threads instead of libtorch's OpenMP team, which a packed step keeps at one
/// thread (see OpenMpThreads).
/// </summary>
/// <remarks>
/// Scores are float32 dot products of the f16 keys with the float32 query (scaled by 1/√head_dim first), the softmax
/// is float32, and the output is the float32 sum of f16 values weighted by it: the only rounding beyond float32 is
/// the keys' and values' own (relative 2⁻¹¹).
/// </remarks>
public sealed unsafe class HalfKeyValues : IDisposable
{
    private ushort* _keys;
    private ushort* _values;
    private readonly long _bytes;

    public int Heads { get; }
    public int Positions { get; }
    public int HeadDim { get; }

    /// <summary>
    /// f16 copies of <paramref name="key"/> and <paramref name="value"/> (1, heads, positions, head_dim), or null when a
    /// value lies beyond f16's range (the caller then attends in float32).
    /// </summary>
    public static HalfKeyValues? TryCreate(Tensor key, Tensor value)
    {
        var kv = new HalfKeyValues(key, value);
        if (kv.AllFinite()) return kv;
        kv.Dispose();
        return null;
    }

    private bool AllFinite()
    {
        long count = (long)Heads * Positions * HeadDim;
        foreach (var p in new[] { (nint)_keys, (nint)_values })
        {
            var span = new ReadOnlySpan<ushort>((void*)p, checked((int)count));
            // An f16 is infinite or NaN exactly when its five exponent bits are all ones.
            foreach (ushort h in span) if ((h & 0x7C00) == 0x7C00) return false;
        }
        return true;
    }

    /// <summary>Copies <paramref name="key"/> and <paramref name="value"/> of shape (1, heads, positions, head_dim) to f16.</summary>
    public HalfKeyValues(Tensor key, Tensor value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        if (key.dim() != 4 || key.shape[0] != 1 || !key.shape.SequenceEqual(value.shape))
            throw new ArgumentException($"keys and values must both be (1, heads, positions, head_dim), got [{string.Join(", ", key.shape)}] and [{string.Join(", ", value.shape)}]");
        Heads = checked((int)key.shape[1]);
        Positions = checked((int)key.shape[2]);
        HeadDim = checked((int)key.shape[3]);
        long count = (long)Heads * Positions * HeadDim;
        _bytes = count * 2 * sizeof(ushort);
        _keys = (ushort*)NativeMemory.AlignedAlloc((nuint)(count * sizeof(ushort)), 64);
        _values = (ushort*)NativeMemory.AlignedAlloc((nuint)(count * sizeof(ushort)), 64);
        GC.AddMemoryPressure(_bytes);
        using var scope = torch.NewDisposeScope();
        // libtorch's vectorised float-to-half conversion (round to nearest even), then one copy each.
        Copy(key, _keys, count);
        Copy(value, _values, count);
    }

    private static void Copy(Tensor source, ushort* destination, long count)
    {
        var half = source.detach().to(ScalarType.Float16, torch.CPU).contiguous();
        fixed (byte* p = half.bytes) Buffer.MemoryCopy(p, destination, count * sizeof(ushort), count * sizeof(ushort));
    }

    ~HalfKeyValues() => Free();

    /// <summary>Native bytes held.</summary>
    public long ByteCount => _bytes;

    /// <summary>
    /// softmax(q·Kᵀ/√d)·V for queries (rows, heads, tokens, head_dim), float32 CPU, every row attending to these keys
    /// (beams of one audio): the result has the queries' shape.
    /// </summary>
    public Tensor Attend(Tensor query, KernelIsa? isa = null, KernelThreads? threads = null)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (_keys is null) throw new ObjectDisposedException(nameof(HalfKeyValues));
        if (query.dim() != 4 || query.shape[1] != Heads || query.shape[3] != HeadDim || query.dtype != ScalarType.Float32 || query.device_type != DeviceType.CPU)
            throw new ArgumentException($"queries must be float32 CPU (rows, {Heads}, tokens, {HeadDim}), got {query.dtype} [{string.Join(", ", query.shape)}]");
        using var scope = torch.NewDisposeScope();
        var q = query.contiguous();
        var output = torch.empty(query.shape, ScalarType.Float32);
        int rows = checked((int)query.shape[0]), tokens = checked((int)query.shape[2]);
        int jobs = rows * Heads * tokens;
        var path = KernelIsas.Require(isa ?? KernelIsas.Default);
        fixed (byte* pq = q.bytes)
        fixed (byte* po = output.bytes)
        {
            // Each (row, head, token) is one job: queries and outputs share the (rows, heads, tokens, head_dim) layout.
            var job = new AttendJob(this, (float*)pq, (float*)po, tokens, path);
            var pool = threads ?? KernelThreads.Shared;
            if ((long)jobs * Positions * HeadDim < 1L << 15) for (int i = 0; i < jobs; i++) job.Run(i);
            else pool.Run(job, jobs);
        }
        GC.KeepAlive(q);
        return output.MoveToOuterDisposeScope();
    }

    private sealed class AttendJob(HalfKeyValues kv, float* queries, float* outputs, int tokens, KernelIsa isa) : KernelJob
    {
        public override void Run(int index)
        {
            int head = index / tokens % kv.Heads;
            long offset = (long)index * kv.HeadDim;
            kv.AttendOne(head, queries + offset, outputs + offset, isa);
        }
    }

    private void AttendOne(int head, float* query, float* output, KernelIsa isa)
    {
        int d = HeadDim, n = Positions;
        long headOffset = (long)head * n * d;
        ushort* keys = _keys + headOffset;
        ushort* values = _values + headOffset;
        float scale = 1f / MathF.Sqrt(d);
        const int StackLimit = 4096;
        float[]? rented = null;
        Span<float> scores = n <= StackLimit ? stackalloc float[n] : (rented = System.Buffers.ArrayPool<float>.Shared.Rent(n)).AsSpan(0, n);
        Span<float> q = stackalloc float[d];
        for (int i = 0; i < d; i++) q[i] = query[i] * scale;
        try
        {
            fixed (float* s = scores)
            fixed (float* qs = q)
            {
                float max = float.NegativeInfinity;
                for (int p = 0; p < n; p++)
                {
                    float score = Dot(keys + (long)p * d, qs, d, isa);
                    s[p] = score;
                    if (score > max) max = score;
                }
                float sum = Exp(s, n, max, isa);
                float inverse = 1f / sum;
                if (d == 64 && isa != KernelIsa.Scalar) WeightedSum64(s, inverse, values, n, output);
                else
                {
                    for (int i = 0; i < d; i++) output[i] = 0;
                    for (int p = 0; p < n; p++) Axpy(s[p] * inverse, values + (long)p * d, output, d, isa);
                }
            }
        }
        finally
        {
            if (rented is not null) System.Buffers.ArrayPool<float>.Shared.Return(rented);
        }
    }

    private static float Dot(ushort* k, float* q, int d, KernelIsa isa)
    {
        int i = 0;
        float sum = 0;
        if (isa != KernelIsa.Scalar)
        {
            var acc0 = Vector256<float>.Zero;
            var acc1 = Vector256<float>.Zero;
            for (; i + 16 <= d; i += 16)
            {
                acc0 = Fma.MultiplyAdd(Half8(k + i), Avx.LoadVector256(q + i), acc0);
                acc1 = Fma.MultiplyAdd(Half8(k + i + 8), Avx.LoadVector256(q + i + 8), acc1);
            }
            for (; i + 8 <= d; i += 8) acc0 = Fma.MultiplyAdd(Half8(k + i), Avx.LoadVector256(q + i), acc0);
            sum = Vector256.Sum(Avx.Add(acc0, acc1));
        }
        for (; i < d; i++) sum += (float)BitConverter.UInt16BitsToHalf(k[i]) * q[i];
        return sum;
    }

    /// <summary>s ← exp(s − max) in place; returns the sum.</summary>
    private static float Exp(float* s, int n, float max, KernelIsa isa)
    {
        int i = 0;
        float sum = 0;
        if (isa != KernelIsa.Scalar)
        {
            var m = Vector256.Create(max);
            var acc = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8)
            {
                var e = Vector256.Exp(Avx.Subtract(Avx.LoadVector256(s + i), m));
                Avx.Store(s + i, e);
                acc = Avx.Add(acc, e);
            }
            sum = Vector256.Sum(acc);
        }
        for (; i < n; i++)
        {
            s[i] = MathF.Exp(s[i] - max);
            sum += s[i];
        }
        return sum;
    }

    /// <summary>Σ_p w[p]·scale·V[p] for Whisper's head width, the 64 sums held in eight registers throughout.</summary>
    private static void WeightedSum64(float* w, float scale, ushort* v, int n, float* y)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        for (int p = 0; p < n; p++, v += 64)
        {
            var c = Vector256.Create(w[p]);
            a0 = Fma.MultiplyAdd(Half8(v), c, a0);
            a1 = Fma.MultiplyAdd(Half8(v + 8), c, a1);
            a2 = Fma.MultiplyAdd(Half8(v + 16), c, a2);
            a3 = Fma.MultiplyAdd(Half8(v + 24), c, a3);
            a4 = Fma.MultiplyAdd(Half8(v + 32), c, a4);
            a5 = Fma.MultiplyAdd(Half8(v + 40), c, a5);
            a6 = Fma.MultiplyAdd(Half8(v + 48), c, a6);
            a7 = Fma.MultiplyAdd(Half8(v + 56), c, a7);
        }
        var sv = Vector256.Create(scale);
        Avx.Store(y, Avx.Multiply(a0, sv));
        Avx.Store(y + 8, Avx.Multiply(a1, sv));
        Avx.Store(y + 16, Avx.Multiply(a2, sv));
        Avx.Store(y + 24, Avx.Multiply(a3, sv));
        Avx.Store(y + 32, Avx.Multiply(a4, sv));
        Avx.Store(y + 40, Avx.Multiply(a5, sv));
        Avx.Store(y + 48, Avx.Multiply(a6, sv));
        Avx.Store(y + 56, Avx.Multiply(a7, sv));
    }

    private static void Axpy(float a, ushort* v, float* y, int d, KernelIsa isa)
    {
        int i = 0;
        if (isa != KernelIsa.Scalar)
        {
            var av = Vector256.Create(a);
            for (; i + 8 <= d; i += 8) Avx.Store(y + i, Fma.MultiplyAdd(Half8(v + i), av, Avx.LoadVector256(y + i)));
        }
        for (; i < d; i++) y[i] += a * (float)BitConverter.UInt16BitsToHalf(v[i]);
    }

    /// <summary>8 halves to floats (see <see cref="PackedKernels"/>: no F16C in .NET).</summary>
    private static Vector256<float> Half8(ushort* p)
    {
        var bits = Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32((short*)p), 13);
        bits = Avx2.And(bits, Vector256.Create(unchecked((int)0x8FFFFFFF)));
        return Avx.Multiply(bits.AsSingle(), Vector256.Create(5.192296858534828e33f));
    }

    private void Free()
    {
        if (_keys is null) return;
        NativeMemory.AlignedFree(_keys);
        NativeMemory.AlignedFree(_values);
        GC.RemoveMemoryPressure(_bytes);
        _keys = null;
        _values = null;
    }

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }
}
