using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace WavFusion.Core.Quantization;

/// <summary>
/// A weight matrix (rows = output features, columns = input features, row-major as <c>nn.Linear</c> stores it) held in
/// native memory as f16 or as int8 with one float32 scale per <see cref="BlockSize"/> values of a row, and multiplied by
/// float32 activations with <see cref="PackedKernels"/>. Views (<see cref="Slice"/>) share the rows of their parent.
/// </summary>
/// <remarks>
/// int8 blocks quantise symmetrically: scale = max|w| / 127 over the block, q = round(w / scale), so a weight is off by
/// at most scale / 2 and a block's contribution to a dot product by at most scale / 2 · Σ|x| over the block. f16 rounds
/// each weight to 11 significant bits (relative error ≤ 2⁻¹¹). Decoding multiplies a handful of activation rows at a
/// time, which the kernels do in one pass over the weights; wider inputs (a 1,500-position encoder output, a long
/// prompt) are better served by a float32 GEMM, so above <see cref="SmallBatch"/> rows the weights are widened into
/// a temporary float32 matrix, a slab at a time, and libtorch multiplies.
/// </remarks>
public sealed unsafe class PackedMatrix : IDisposable
{
    /// <summary>Values per int8 block (ggml's QK8_0): every packed int8 row length is a multiple of it.</summary>
    public const int BlockSize = 32;

    /// <summary>Activation rows up to which the kernels run; above it, widened weights and libtorch's GEMM.</summary>
    public const int SmallBatch = 16;

    /// <summary>Weights widened at a time on the GEMM path (16 MB of float32).</summary>
    private const long SlabWeights = 1L << 22;

    /// <summary>Multiply-adds below which a product runs on the calling thread alone (waking a worker costs more).</summary>
    private const long ParallelWork = 1L << 15;

    private byte* _values;
    private float* _scales;
    private readonly PackedMatrix? _parent;
    private readonly long _ownedBytes;

    public WeightFormat Format { get; }
    public int Rows { get; }
    public int Columns { get; }

    private PackedMatrix(WeightFormat format, int rows, int columns)
    {
        if (format == WeightFormat.Fp32) throw new ArgumentException("fp32 weights are not packed; use the float tensor", nameof(format));
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        if (format == WeightFormat.Int8 && columns % BlockSize != 0)
            throw new ArgumentException($"int8 rows must be a multiple of {BlockSize} values long, got {columns}", nameof(columns));
        Format = format;
        Rows = rows;
        Columns = columns;
        long values = (long)rows * columns * (format == WeightFormat.F16 ? 2 : 1);
        long scales = format == WeightFormat.Int8 ? (long)rows * (columns / BlockSize) * sizeof(float) : 0;
        _values = (byte*)NativeMemory.AlignedAlloc((nuint)values, 64);
        if (scales > 0) _scales = (float*)NativeMemory.AlignedAlloc((nuint)scales, 64);
        _ownedBytes = values + scales;
        GC.AddMemoryPressure(_ownedBytes);
    }

    private PackedMatrix(PackedMatrix parent, int firstRow, int rows)
    {
        _parent = parent;
        Format = parent.Format;
        Rows = rows;
        Columns = parent.Columns;
        _values = parent._values + (long)firstRow * Columns * (Format == WeightFormat.F16 ? 2 : 1);
        _scales = parent._scales is null ? null : parent._scales + (long)firstRow * (Columns / BlockSize);
    }

    ~PackedMatrix() => Free();

    /// <summary>Native bytes of this matrix's rows (a view counts the rows it shows, which its parent holds).</summary>
    public long ByteCount => (long)Rows * Columns * (Format == WeightFormat.F16 ? 2 : 1) + (Format == WeightFormat.Int8 ? (long)Rows * BlocksPerRow * sizeof(float) : 0);

    private int BlocksPerRow => Columns / BlockSize;

    /// <summary>A matrix whose rows the caller fills through <see cref="Int8Values"/>/<see cref="Int8Scales"/> or <see cref="HalfValues"/>.</summary>
    public static PackedMatrix Allocate(WeightFormat format, int rows, int columns) => new(format, rows, columns);

    public Span<sbyte> Int8Values(int row)
    {
        Require(WeightFormat.Int8, row);
        return new Span<sbyte>((sbyte*)_values + (long)row * Columns, Columns);
    }

    public Span<float> Int8Scales(int row)
    {
        Require(WeightFormat.Int8, row);
        return new Span<float>(_scales + (long)row * BlocksPerRow, BlocksPerRow);
    }

    public Span<ushort> HalfValues(int row)
    {
        Require(WeightFormat.F16, row);
        return new Span<ushort>((ushort*)_values + (long)row * Columns, Columns);
    }

    private void Require(WeightFormat format, int row)
    {
        ThrowIfDisposed();
        if (Format != format) throw new InvalidOperationException($"this matrix holds {Format.Name()} weights, not {format.Name()}");
        if ((uint)row >= (uint)Rows) throw new ArgumentOutOfRangeException(nameof(row), row, $"the matrix has {Rows} rows");
    }

    /// <summary>
    /// Packs a float32 (rows, columns) CPU tensor. Non-finite weights, and for f16 weights beyond its range, are
    /// errors naming <paramref name="what"/>: both would come out as different numbers without a trace.
    /// </summary>
    public static PackedMatrix Pack(Tensor weight, WeightFormat format, string what)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.dim() != 2) throw new ArgumentException($"{what}: a weight matrix must be 2-D, got [{string.Join(", ", weight.shape)}]");
        using var scope = torch.NewDisposeScope();
        var dense = weight.detach().to(ScalarType.Float32, torch.CPU).contiguous();
        int rows = checked((int)weight.shape[0]), columns = checked((int)weight.shape[1]);
        var values = MemoryMarshal.Cast<byte, float>(dense.bytes);
        return Pack(values, rows, columns, format, what);
    }

    /// <summary>Packs row-major float32 values (see <see cref="Pack(Tensor, WeightFormat, string)"/>).</summary>
    public static PackedMatrix Pack(ReadOnlySpan<float> values, int rows, int columns, WeightFormat format, string what)
    {
        if (values.Length != (long)rows * columns) throw new ArgumentException($"{what}: {values.Length} values for a {rows} x {columns} matrix");
        var matrix = new PackedMatrix(format, rows, columns);
        try
        {
            for (int r = 0; r < rows; r++)
            {
                var row = values.Slice(r * columns, columns);
                if (format == WeightFormat.Int8) QuantizeRow(row, matrix.Int8Values(r), matrix.Int8Scales(r), what);
                else HalfRow(row, matrix.HalfValues(r), what);
            }
            return matrix;
        }
        catch
        {
            matrix.Dispose();
            throw;
        }
    }

    /// <summary>Symmetric int8 quantisation of one row, block by block (scale = max|w| / 127; an all-zero block gets scale 0).</summary>
    public static void QuantizeRow(ReadOnlySpan<float> row, Span<sbyte> q, Span<float> scales, string what)
    {
        for (int b = 0; b < scales.Length; b++)
        {
            var block = row.Slice(b * BlockSize, BlockSize);
            float amax = 0;
            foreach (float v in block)
            {
                if (!float.IsFinite(v)) throw new ArgumentException($"{what}: weight {v} is not finite");
                amax = Math.Max(amax, Math.Abs(v));
            }
            float scale = amax / 127f;
            scales[b] = scale;
            float inverse = scale == 0 ? 0 : 1f / scale;
            for (int i = 0; i < BlockSize; i++) q[b * BlockSize + i] = (sbyte)Math.Clamp(MathF.Round(block[i] * inverse), -127f, 127f);
        }
    }

    /// <summary>Rounds one row to f16 bits; a weight beyond f16's range is an error naming <paramref name="what"/>.</summary>
    public static void HalfRow(ReadOnlySpan<float> row, Span<ushort> halves, string what)
    {
        for (int c = 0; c < row.Length; c++)
        {
            float v = row[c];
            var h = (Half)v;
            if (!Half.IsFinite(h)) throw new ArgumentException($"{what}: weight {v} does not fit f16 (|w| ≤ 65504)");
            halves[c] = BitConverter.HalfToUInt16Bits(h);
        }
    }

    /// <summary>The rows of <paramref name="parts"/> one after another (same format and width): one matrix, one product.</summary>
    public static PackedMatrix Concat(IReadOnlyList<PackedMatrix> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0) throw new ArgumentException("nothing to concatenate", nameof(parts));
        var first = parts[0];
        if (parts.Any(p => p.Format != first.Format || p.Columns != first.Columns))
            throw new ArgumentException("concatenated matrices must share format and width", nameof(parts));
        var result = new PackedMatrix(first.Format, parts.Sum(p => p.Rows), first.Columns);
        long valueBytes = first.Format == WeightFormat.F16 ? 2 : 1;
        int at = 0;
        foreach (var p in parts)
        {
            p.ThrowIfDisposed();
            Buffer.MemoryCopy(p._values, result._values + (long)at * result.Columns * valueBytes, (long)p.Rows * p.Columns * valueBytes, (long)p.Rows * p.Columns * valueBytes);
            if (p._scales is not null)
            {
                long bytes = (long)p.Rows * p.BlocksPerRow * sizeof(float);
                Buffer.MemoryCopy(p._scales, result._scales + (long)at * result.BlocksPerRow, bytes, bytes);
            }
            at += p.Rows;
        }
        return result;
    }

    /// <summary>Rows [<paramref name="firstRow"/>, +<paramref name="rows"/>) as a view that keeps this matrix alive.</summary>
    public PackedMatrix Slice(int firstRow, int rows)
    {
        ThrowIfDisposed();
        if (firstRow < 0 || rows < 1 || firstRow + rows > Rows) throw new ArgumentOutOfRangeException(nameof(rows), $"rows [{firstRow}, {firstRow + rows}) outside [0, {Rows})");
        return new PackedMatrix(this, firstRow, rows);
    }

    /// <summary>
    /// y = x·Wᵀ + bias for <paramref name="n"/> contiguous activation rows of <see cref="Columns"/> floats into
    /// <paramref name="n"/> rows of <see cref="Rows"/> floats, on <paramref name="threads"/> (null: the calling thread).
    /// </summary>
    public void Multiply(float* x, int n, float* y, float* bias, KernelIsa isa, KernelThreads? threads)
    {
        ThrowIfDisposed();
        KernelIsas.Require(isa);
        var input = new Activations(x, null, null);
        if (Format == WeightFormat.Int8)
        {
            // The int8 kernels take the activations as int16 blocks, rounded once here for every row of weights.
            var scratch = Scratch.For(n, Columns);
            PackedKernels.QuantizeActivations(isa, x, n, Columns, scratch.Values, scratch.Scales);
            input = new Activations(x, scratch.Values, scratch.Scales);
        }
        long work = (long)Rows * Columns * n;
        if (threads is null || threads.Threads == 1 || work < ParallelWork)
        {
            Kernel(input, n, y, bias, isa, 0, Rows);
            return;
        }
        // Chunks of about 16K weights: enough to amortise claiming one, small enough to balance two to sixteen threads.
        int chunkRows = Math.Clamp((1 << 14) / Columns, 4, Math.Max(4, Rows / threads.Threads));
        int chunks = (Rows + chunkRows - 1) / chunkRows;
        threads.Run(new MultiplyJob(this, input, n, y, bias, isa, chunkRows), chunks);
        GC.KeepAlive(this);
    }

    /// <summary>The activations as the kernels read them: float32, and for int8 weights also int16 blocks with their scales.</summary>
    private readonly struct Activations(float* floats, short* values, float* scales)
    {
        public readonly float* Floats = floats;
        public readonly short* Values = values;
        public readonly float* Scales = scales;
    }

    private void Kernel(Activations x, int n, float* y, float* bias, KernelIsa isa, int r0, int r1)
    {
        if (Format == WeightFormat.Int8) PackedKernels.Int8(isa, (sbyte*)_values, _scales, Columns, x.Values, x.Scales, n, y, Rows, bias, r0, r1);
        else PackedKernels.F16(isa, (ushort*)_values, Columns, x.Floats, n, y, Rows, bias, r0, r1);
    }

    private sealed class MultiplyJob(PackedMatrix m, Activations x, int n, float* y, float* bias, KernelIsa isa, int chunkRows) : KernelJob
    {
        public override void Run(int index)
        {
            int r0 = index * chunkRows;
            m.Kernel(x, n, y, bias, isa, r0, Math.Min(m.Rows, r0 + chunkRows));
        }
    }

    /// <summary>
    /// Per-thread native buffers for the int16 activations: the calling thread fills them and waits while the pool
    /// reads them, so one buffer per calling thread suffices. They grow to the largest product and stay.
    /// </summary>
    private sealed class Scratch
    {
        [ThreadStatic] private static Scratch? _current;
        private long _capacity;

        public short* Values { get; private set; }
        public float* Scales { get; private set; }

        public static Scratch For(int n, int columns)
        {
            var s = _current ??= new Scratch();
            long needed = (long)n * columns;
            if (needed > s._capacity)
            {
                s.Free();
                s._capacity = Math.Max(needed, 4096);
                s.Values = (short*)NativeMemory.AlignedAlloc((nuint)(s._capacity * sizeof(short)), 64);
                s.Scales = (float*)NativeMemory.AlignedAlloc((nuint)(s._capacity / BlockSize * sizeof(float)), 64);
            }
            return s;
        }

        private void Free()
        {
            if (Values is not null) NativeMemory.AlignedFree(Values);
            if (Scales is not null) NativeMemory.AlignedFree(Scales);
            Values = null;
            Scales = null;
        }

        ~Scratch() => Free();
    }

    /// <summary>
    /// <c>F.linear(x, W, bias)</c> for float32 CPU activations (…, <see cref="Columns"/>): the kernels on
    /// <see cref="KernelIsas.Default"/> (or <paramref name="isa"/>) and the shared threads for up to
    /// <see cref="SmallBatch"/> rows, widened slabs and libtorch above.
    /// </summary>
    public Tensor Linear(Tensor x, Tensor? bias, KernelIsa? isa = null, KernelThreads? threads = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ThrowIfDisposed();
        if (x.device_type != DeviceType.CPU || x.dtype != ScalarType.Float32)
            throw new ArgumentException($"packed {Format.Name()} weights multiply float32 CPU activations, got {x.dtype} on {x.device}");
        if (x.dim() < 1 || x.shape[^1] != Columns)
            throw new ArgumentException($"activations must end in {Columns} features, got [{string.Join(", ", x.shape)}]");
        if (bias is not null && (bias.numel() != Rows || bias.dtype != ScalarType.Float32 || bias.device_type != DeviceType.CPU))
            throw new ArgumentException($"bias must be {Rows} float32 values on the CPU");
        long n = x.numel() / Columns;
        var shape = x.shape.ToArray();
        shape[^1] = Rows;
        if (n > SmallBatch) return WidenedLinear(x, bias, shape);

        using var scope = torch.NewDisposeScope();
        var input = x.contiguous();
        var output = torch.empty(shape, ScalarType.Float32);
        if (n == 0) return output.MoveToOuterDisposeScope();
        var b = bias?.detach().contiguous();
        fixed (byte* px = input.bytes)
        fixed (byte* py = output.bytes)
        fixed (byte* pb = b is null ? default : b.bytes)
        {
            Multiply((float*)px, (int)n, (float*)py, (float*)pb, isa ?? KernelIsas.Default, threads ?? KernelThreads.Shared);
        }
        GC.KeepAlive(input);
        GC.KeepAlive(b);
        return output.MoveToOuterDisposeScope();
    }

    private Tensor WidenedLinear(Tensor x, Tensor? bias, long[] shape)
    {
        using var scope = torch.NewDisposeScope();
        int slabRows = (int)Math.Clamp(SlabWeights / Columns, 1, Rows);
        if (slabRows >= Rows) return nn.functional.linear(x, ToFloat32(0, Rows), bias).MoveToOuterDisposeScope();
        var output = torch.empty(shape, ScalarType.Float32);
        for (int r0 = 0; r0 < Rows; r0 += slabRows)
        {
            using var slab = torch.NewDisposeScope();
            int rows = Math.Min(slabRows, Rows - r0);
            output.narrow(-1, r0, rows).copy_(nn.functional.linear(x, ToFloat32(r0, rows), bias?.narrow(0, r0, rows)));
        }
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>Rows [<paramref name="firstRow"/>, +<paramref name="rows"/>) widened to a float32 (rows, columns) tensor, on the shared threads.</summary>
    public Tensor ToFloat32(int firstRow, int rows)
    {
        ThrowIfDisposed();
        if (firstRow < 0 || rows < 0 || firstRow + rows > Rows) throw new ArgumentOutOfRangeException(nameof(rows), $"rows [{firstRow}, {firstRow + rows}) outside [0, {Rows})");
        var result = torch.empty([rows, Columns], ScalarType.Float32);
        if (rows == 0) return result;
        var isa = KernelIsas.Default;
        fixed (byte* p = result.bytes)
        {
            float* dst = (float*)p;
            const int chunkRows = 64;
            int chunks = (rows + chunkRows - 1) / chunkRows;
            if ((long)rows * Columns < ParallelWork) WidenRows(isa, firstRow, 0, rows, dst);
            else KernelThreads.Shared.Run(new WidenJob(this, isa, firstRow, rows, chunkRows, dst), chunks);
        }
        return result;
    }

    private void WidenRows(KernelIsa isa, int firstRow, int from, int to, float* dst)
    {
        for (int r = from; r < to; r++) WidenRow(isa, firstRow + r, dst + (long)r * Columns);
    }

    private sealed class WidenJob(PackedMatrix m, KernelIsa isa, int firstRow, int rows, int chunkRows, float* dst) : KernelJob
    {
        public override void Run(int index) => m.WidenRows(isa, firstRow, index * chunkRows, Math.Min(rows, (index + 1) * chunkRows), dst);
    }

    /// <summary>
    /// The rows named by <paramref name="indices"/> (int64, any shape) widened to float32, shape indices.shape + [columns]:
    /// an embedding lookup from the same packed table that the tied output projection multiplies by.
    /// </summary>
    public Tensor Gather(Tensor indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        ThrowIfDisposed();
        using var scope = torch.NewDisposeScope();
        var ids = indices.to(ScalarType.Int64, torch.CPU).contiguous();
        var shape = ids.shape.Append(Columns).ToArray();
        var result = torch.empty(shape, ScalarType.Float32);
        var values = MemoryMarshal.Cast<byte, long>(ids.bytes);
        fixed (byte* p = result.bytes)
        {
            float* dst = (float*)p;
            for (int i = 0; i < values.Length; i++)
            {
                long r = values[i];
                if ((ulong)r >= (ulong)Rows) throw new ArgumentOutOfRangeException(nameof(indices), r, $"index outside [0, {Rows})");
                WidenRow(KernelIsas.Default, r, dst + (long)i * Columns);
            }
        }
        return result.MoveToOuterDisposeScope();
    }

    private void WidenRow(KernelIsa isa, long r, float* dst)
    {
        if (Format == WeightFormat.Int8) PackedKernels.Int8Row(isa, (sbyte*)_values, _scales, Columns, r, dst);
        else PackedKernels.F16Row(isa, (ushort*)_values, Columns, r, dst);
    }

    /// <summary>A view dies with its parent: disposing the parent frees the rows a view reads.</summary>
    private void ThrowIfDisposed()
    {
        if (_values is null || (_parent is not null && _parent._values is null)) throw new ObjectDisposedException(nameof(PackedMatrix));
    }

    private void Free()
    {
        if (_values is null) return;
        if (_parent is null)
        {
            NativeMemory.AlignedFree(_values);
            if (_scales is not null) NativeMemory.AlignedFree(_scales);
            GC.RemoveMemoryPressure(_ownedBytes);
        }
        _values = null;
        _scales = null;
    }

    public void Dispose()
    {
        Free();
        GC.SuppressFinalize(this);
    }
}
