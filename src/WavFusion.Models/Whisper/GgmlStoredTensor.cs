using System.Buffers.Binary;
using System.Runtime.InteropServices;
using WavFusion.Core.Quantization;
using WavFusion.Models.Layers;

namespace WavFusion.Models.Whisper;

/// <summary>
/// A ggml tensor kept as stored (quantised blocks or halves) for a packed layer. Q8_0 is int8 in 32-value blocks
/// with an f16 scale, which is <see cref="PackedMatrix"/>'s int8 layout: its values are copied and its scales
/// widened, so the packed matrix computes with exactly the weights whisper.cpp reads, and no float32 copy of the
/// tensor is ever made. Q4_0 and Q5_0 blocks are small integers times a scale and convert exactly too; Q4_1 and
/// Q5_1 (which add a per-block minimum) and F16 are widened a row at a time and quantised again.
/// </summary>
public sealed record GgmlStoredTensor(string Name, GgmlType Type, long[] Shape, byte[] Data) : IPackedSource
{
    private const int QK = 32;

    public PackedMatrix Pack(WeightFormat format, string what)
    {
        if (Shape.Length != 2) throw new ArgumentException($"{what}: a packed weight must be 2-D, got [{string.Join(", ", Shape)}]");
        int rows = checked((int)Shape[0]), cols = checked((int)Shape[1]);
        long rowBytes = GgmlTypes.ByteCount(Type, cols, what);
        if (rowBytes * rows != Data.Length) throw new ArgumentException($"{what}: {Data.Length} bytes stored for {rows} rows of {rowBytes}");
        var matrix = PackedMatrix.Allocate(format, rows, cols);
        try
        {
            var widened = new float[cols];
            for (int r = 0; r < rows; r++)
            {
                var src = Data.AsSpan(checked((int)(r * rowBytes)), (int)rowBytes);
                if (format == WeightFormat.F16)
                {
                    if (Type == GgmlType.F16) MemoryMarshal.Cast<byte, ushort>(src).CopyTo(matrix.HalfValues(r));
                    else
                    {
                        Widen(src, widened, r * rowBytes);
                        PackedMatrix.HalfRow(widened, matrix.HalfValues(r), what);
                    }
                }
                else if (!ExactInt8(src, matrix.Int8Values(r), matrix.Int8Scales(r)))
                {
                    Widen(src, widened, r * rowBytes);
                    PackedMatrix.QuantizeRow(widened, matrix.Int8Values(r), matrix.Int8Scales(r), what);
                }
            }
            return matrix;
        }
        catch
        {
            matrix.Dispose();
            throw;
        }
    }

    private void Widen(ReadOnlySpan<byte> row, float[] destination, long offset)
    {
        if (Type == GgmlType.F32) MemoryMarshal.Cast<byte, float>(row).CopyTo(destination);
        else GgmlDequantizer.Dequantize(Type, Data, checked((int)offset), destination, destination.Length);
    }

    private static float Half(ReadOnlySpan<byte> b) => (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(b));

    /// <summary>Copies blocks whose values are integers times one scale (Q8_0, Q4_0, Q5_0); false for the other types.</summary>
    private bool ExactInt8(ReadOnlySpan<byte> src, Span<sbyte> q, Span<float> scales)
    {
        int blocks = scales.Length;
        switch (Type)
        {
            case GgmlType.Q8_0:
                for (int b = 0; b < blocks; b++)
                {
                    var block = src.Slice(b * (2 + QK), 2 + QK);
                    scales[b] = Half(block);
                    MemoryMarshal.Cast<byte, sbyte>(block.Slice(2, QK)).CopyTo(q.Slice(b * QK, QK));
                }
                return true;
            case GgmlType.Q4_0:
                for (int b = 0; b < blocks; b++)
                {
                    var block = src.Slice(b * (2 + QK / 2), 2 + QK / 2);
                    scales[b] = Half(block);
                    var nibbles = block.Slice(2);
                    for (int j = 0; j < QK / 2; j++)
                    {
                        q[b * QK + j] = (sbyte)((nibbles[j] & 0x0F) - 8);
                        q[b * QK + j + QK / 2] = (sbyte)((nibbles[j] >> 4) - 8);
                    }
                }
                return true;
            case GgmlType.Q5_0:
                for (int b = 0; b < blocks; b++)
                {
                    var block = src.Slice(b * (2 + 4 + QK / 2), 2 + 4 + QK / 2);
                    scales[b] = Half(block);
                    uint high = BinaryPrimitives.ReadUInt32LittleEndian(block.Slice(2, 4));
                    var nibbles = block.Slice(6);
                    for (int j = 0; j < QK / 2; j++)
                    {
                        int lo = (nibbles[j] & 0x0F) | (int)(((high >> j) & 1) << 4);
                        int hi = (nibbles[j] >> 4) | (int)(((high >> (j + 16)) & 1) << 4);
                        q[b * QK + j] = (sbyte)(lo - 16);
                        q[b * QK + j + QK / 2] = (sbyte)(hi - 16);
                    }
                }
                return true;
            default:
                return false;
        }
    }
}
