using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;

namespace WavFusion.Tests.Whisper;

/// <summary>One array of a .npy file: its shape and its values widened to double.</summary>
public sealed record NpyArray(long[] Shape, double[] Values);

/// <summary>
/// Minimal reader for numpy .npz archives (a zip of .npy files): little-endian float32/float64,
/// C order, format versions 1–3.
/// </summary>
public static partial class NpyArchive
{
    public static Dictionary<string, NpyArray> Read(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        var result = new Dictionary<string, NpyArray>(StringComparer.Ordinal);
        foreach (var entry in zip.Entries)
        {
            using var stream = entry.Open();
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            result[Path.GetFileNameWithoutExtension(entry.FullName)] = Parse(buffer.ToArray(), $"{path}:{entry.FullName}");
        }
        return result;
    }

    public static NpyArray Parse(byte[] bytes, string source)
    {
        if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY")
            throw new InvalidDataException($"{source}: not a .npy array (bad magic)");
        int major = bytes[6];
        int headerLength = major == 1 ? BitConverter.ToUInt16(bytes, 8) : BitConverter.ToInt32(bytes, 8);
        int headerStart = major == 1 ? 10 : 12;
        string header = Encoding.Latin1.GetString(bytes, headerStart, headerLength);
        string descr = DescrPattern().Match(header) is { Success: true } d ? d.Groups[1].Value
            : throw new InvalidDataException($"{source}: header has no descr: {header}");
        if (header.Contains("'fortran_order': True", StringComparison.Ordinal))
            throw new InvalidDataException($"{source}: Fortran-ordered arrays are not supported");
        var shapeMatch = ShapePattern().Match(header);
        if (!shapeMatch.Success) throw new InvalidDataException($"{source}: header has no shape: {header}");
        long[] shape = shapeMatch.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(long.Parse).ToArray();
        long count = shape.Aggregate(1L, (a, b) => a * b);
        var data = bytes.AsSpan(headerStart + headerLength);
        var values = new double[count];
        switch (descr)
        {
            case "<f4":
                for (long i = 0; i < count; i++) values[i] = BitConverter.ToSingle(data.Slice((int)(4 * i), 4));
                break;
            case "<f8":
                for (long i = 0; i < count; i++) values[i] = BitConverter.ToDouble(data.Slice((int)(8 * i), 8));
                break;
            default:
                throw new InvalidDataException($"{source}: dtype {descr} is not supported");
        }
        return new NpyArray(shape, values);
    }

    [GeneratedRegex(@"'descr':\s*'([^']+)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'shape':\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
