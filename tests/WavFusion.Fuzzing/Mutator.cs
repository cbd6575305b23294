using System.Buffers.Binary;
using System.Text;

namespace WavFusion.Fuzzing;

/// <summary>
/// Damages a valid file the ways real files get damaged and the ways hostile files lie: flipped bits, overwritten
/// and cut bytes, and the lengths, counts, sizes and offsets that readers trust, set to edge and huge values.
/// Deterministic for a given <see cref="Random"/>.
/// </summary>
public sealed class Mutator(Random random, IReadOnlyList<byte[]> markers)
{
    /// <summary>Values that break length arithmetic: signs, the int and uint edges, and sizes far beyond any file.</summary>
    private static readonly long[] EdgeValues =
    [
        0, 1, -1, 2, 255, 256, 0x7FFF, 0xFFFF, 0x10000, int.MaxValue, int.MinValue, int.MaxValue - 7, uint.MaxValue,
        0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF, long.MinValue, 1L << 40, 1L << 62, 100_000_001,
    ];

    private static readonly string[] EdgeNumbers =
    [
        "0", "-1", "1", "4294967296", "2147483648", "-2147483649", "9223372036854775807", "9223372036854775808",
        "18446744073709551615", "-9223372036854775808", "1e308", "1.5", "NaN", "99999999999999999999999", "",
    ];

    /// <summary>One to three damages applied in turn; returns the mutant and what was done, for reports.</summary>
    public (byte[] Bytes, string What) Mutate(byte[] seed)
    {
        var bytes = seed;
        var what = new List<string>();
        int count = 1 + random.Next(3);
        for (int i = 0; i < count && bytes.Length > 0; i++)
        {
            (bytes, var step) = MutateOnce(bytes);
            what.Add(step);
        }
        return (bytes, string.Join(", ", what));
    }

    private (byte[], string) MutateOnce(byte[] input)
    {
        var b = (byte[])input.Clone();
        int at = random.Next(b.Length);
        switch (random.Next(9))
        {
            case 0:
            {
                int flips = 1 + random.Next(8);
                for (int i = 0; i < flips; i++)
                {
                    int p = random.Next(b.Length);
                    b[p] ^= (byte)(1 << random.Next(8));
                }
                return (b, $"{flips} bit flips");
            }
            case 1:
            {
                int n = Math.Min(1 + random.Next(16), b.Length - at);
                random.NextBytes(b.AsSpan(at, n));
                return (b, $"{n} random bytes at {at}");
            }
            case 2:
                return (b[..at], $"truncated to {at} bytes");
            case 3:
                return (Edge(b, at), $"edge value at {at}");
            case 4:
            {
                // Lengths and counts sit just after the markers that introduce them (chunk ids, zip signatures, headers).
                var marker = markers.Count > 0 ? markers[random.Next(markers.Count)] : [];
                var positions = Find(b, marker);
                int p = positions.Count > 0 ? positions[random.Next(positions.Count)] + random.Next(40) : at;
                return (Edge(b, Math.Min(p, b.Length - 1)), $"edge value near a marker at {p}");
            }
            case 5:
                return ReplaceNumber(b);
            case 6:
            {
                int n = Math.Min(1 + random.Next(64), b.Length - at);
                return ([.. b.AsSpan(0, at), .. b.AsSpan(at + n)], $"{n} bytes deleted at {at}");
            }
            case 7:
            {
                int n = Math.Min(1 + random.Next(64), b.Length - at);
                return ([.. b.AsSpan(0, at + n), .. b.AsSpan(at, n), .. b.AsSpan(at + n)], $"{n} bytes duplicated at {at}");
            }
            default:
            {
                var tail = new byte[1 + random.Next(256)];
                random.NextBytes(tail);
                return ([.. b, .. tail], $"{tail.Length} bytes appended");
            }
        }
    }

    private byte[] Edge(byte[] b, int at)
    {
        long v = EdgeValues[random.Next(EdgeValues.Length)];
        if (random.Next(4) == 0) v = b.Length + random.Next(-2, 3);
        int width = random.Next(3) switch { 0 => 2, 1 => 4, _ => 8 };
        Span<byte> le = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(le, v);
        int n = Math.Min(width, b.Length - at);
        le[..n].CopyTo(b.AsSpan(at));
        return b;
    }

    /// <summary>Rewrites a decimal number in the file's text parts (JSON headers, pickle lines) to an edge value.</summary>
    private (byte[], string) ReplaceNumber(byte[] b)
    {
        var runs = new List<(int Start, int Length)>();
        for (int i = 0; i < b.Length;)
        {
            if (b[i] is >= (byte)'0' and <= (byte)'9')
            {
                int start = i;
                while (i < b.Length && b[i] is >= (byte)'0' and <= (byte)'9') i++;
                runs.Add((start, i - start));
            }
            else i++;
        }
        if (runs.Count == 0) return (b, "no number to replace");
        var (s, l) = runs[random.Next(runs.Count)];
        string text = EdgeNumbers[random.Next(EdgeNumbers.Length)];
        return ([.. b.AsSpan(0, s), .. Encoding.ASCII.GetBytes(text), .. b.AsSpan(s + l)], $"number at {s} replaced by '{text}'");
    }

    private static List<int> Find(byte[] b, byte[] marker)
    {
        var found = new List<int>();
        if (marker.Length == 0) return found;
        for (int i = b.AsSpan().IndexOf(marker); i >= 0 && found.Count < 64;)
        {
            found.Add(i);
            int next = b.AsSpan(i + 1).IndexOf(marker);
            i = next < 0 ? -1 : i + 1 + next;
        }
        return found;
    }
}
