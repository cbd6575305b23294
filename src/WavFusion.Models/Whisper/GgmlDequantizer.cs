using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace WavFusion.Models.Whisper;

/// <summary>
/// Expands ggml blocks to float32 (layouts of ggml-common.h / dequantize_row_* in ggml-quants.c).
/// Large tensors are split over the thread pool by block ranges.
/// </summary>
public static class GgmlDequantizer
{
    private const int QK = 32;
    private const int BlocksPerTask = 4096;

    public static void Dequantize(GgmlType type, byte[] source, float[] destination) =>
        Dequantize(type, source, 0, destination, destination.Length);

    /// <summary>Dequantises <paramref name="count"/> values whose blocks start at <paramref name="sourceOffset"/>.</summary>
    public static void Dequantize(GgmlType type, byte[] source, int sourceOffset, float[] destination, int count)
    {
        int blockValues = GgmlTypes.BlockValues(type);
        int blockBytes = GgmlTypes.BlockBytes(type);
        if (count % blockValues != 0) throw new ArgumentException($"{count} values are not a whole number of {type} blocks", nameof(count));
        int blocks = count / blockValues;
        if (sourceOffset + (long)blocks * blockBytes > source.Length) throw new ArgumentException($"{type}: {blocks} blocks need {(long)blocks * blockBytes} bytes, the source holds {source.Length - sourceOffset}", nameof(source));
        if (destination.Length < count) throw new ArgumentException($"destination holds {destination.Length} values, {count} needed", nameof(destination));

        int tasks = (blocks + BlocksPerTask - 1) / BlocksPerTask;
        if (tasks <= 1)
        {
            Range(type, source.AsSpan(sourceOffset, blocks * blockBytes), destination.AsSpan(0, count));
            return;
        }
        Parallel.For(0, tasks, t =>
        {
            int first = t * BlocksPerTask;
            int n = Math.Min(BlocksPerTask, blocks - first);
            Range(type, source.AsSpan(sourceOffset + first * blockBytes, n * blockBytes), destination.AsSpan(first * blockValues, n * blockValues));
        });
    }

    private static void Range(GgmlType type, ReadOnlySpan<byte> src, Span<float> dst)
    {
        switch (type)
        {
            case GgmlType.F32: MemoryMarshal.Cast<byte, float>(src).CopyTo(dst); break;
            case GgmlType.F16: F16(src, dst); break;
            case GgmlType.Q8_0: Q8_0(src, dst); break;
            case GgmlType.Q4_0: Q4(src, dst, hasMin: false); break;
            case GgmlType.Q4_1: Q4(src, dst, hasMin: true); break;
            case GgmlType.Q5_0: Q5(src, dst, hasMin: false); break;
            case GgmlType.Q5_1: Q5(src, dst, hasMin: true); break;
            default: throw new ArgumentOutOfRangeException(nameof(type), type, "not a supported ggml type");
        }
    }

    private static float Half(ReadOnlySpan<byte> b) => (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(b));

    private static void F16(ReadOnlySpan<byte> src, Span<float> dst)
    {
        var halves = MemoryMarshal.Cast<byte, Half>(src);
        for (int i = 0; i < dst.Length; i++) dst[i] = (float)halves[i];
    }

    private static void Q8_0(ReadOnlySpan<byte> src, Span<float> dst)
    {
        const int bytes = 2 + QK;
        for (int b = 0, o = 0; o < dst.Length; b += bytes, o += QK)
        {
            float d = Half(src.Slice(b, 2));
            var q = MemoryMarshal.Cast<byte, sbyte>(src.Slice(b + 2, QK));
            var y = dst.Slice(o, QK);
            for (int j = 0; j < QK; j++) y[j] = q[j] * d;
        }
    }

    /// <summary>Low nibbles hold values 0..15 of the block, high nibbles 16..31; Q4_0 centres at 8, Q4_1 adds the minimum.</summary>
    private static void Q4(ReadOnlySpan<byte> src, Span<float> dst, bool hasMin)
    {
        int header = hasMin ? 4 : 2;
        int bytes = header + QK / 2;
        for (int b = 0, o = 0; o < dst.Length; b += bytes, o += QK)
        {
            float d = Half(src.Slice(b, 2));
            float m = hasMin ? Half(src.Slice(b + 2, 2)) : 0f;
            int centre = hasMin ? 0 : 8;
            var q = src.Slice(b + header, QK / 2);
            var y = dst.Slice(o, QK);
            for (int j = 0; j < QK / 2; j++)
            {
                y[j] = ((q[j] & 0x0F) - centre) * d + m;
                y[j + QK / 2] = ((q[j] >> 4) - centre) * d + m;
            }
        }
    }

    /// <summary>As Q4 plus a 32-bit word of fifth bits (bit j for value j); Q5_0 centres at 16.</summary>
    private static void Q5(ReadOnlySpan<byte> src, Span<float> dst, bool hasMin)
    {
        int header = hasMin ? 4 : 2;
        int bytes = header + 4 + QK / 2;
        for (int b = 0, o = 0; o < dst.Length; b += bytes, o += QK)
        {
            float d = Half(src.Slice(b, 2));
            float m = hasMin ? Half(src.Slice(b + 2, 2)) : 0f;
            int centre = hasMin ? 0 : 16;
            uint qh = BinaryPrimitives.ReadUInt32LittleEndian(src.Slice(b + header, 4));
            var q = src.Slice(b + header + 4, QK / 2);
            var y = dst.Slice(o, QK);
            for (int j = 0; j < QK / 2; j++)
            {
                int lo = (q[j] & 0x0F) | (int)(((qh >> j) & 1) << 4);
                int hi = (q[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
                y[j] = (lo - centre) * d + m;
                y[j + QK / 2] = (hi - centre) * d + m;
            }
        }
    }
}
