using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace WavFusion.Core.Checkpoints;

/// <summary>One tensor's entry in a safetensors header.</summary>
public sealed record SafeTensorEntry(string Name, string DType, long[] Shape, long Begin, long End)
{
    public long ByteLength => End - Begin;
}

/// <summary>
/// Reader for the safetensors format: u64 header length, a JSON header, then one byte buffer that the
/// header's <c>data_offsets</c> cover without gaps. The header is validated in full on open, so a
/// truncated or malformed file fails before any tensor is read, naming the file and the entry.
/// </summary>
public sealed class SafeTensorsFile : IDisposable
{
    public const long MaxHeaderBytes = 100_000_000;

    private readonly FileStream _stream;
    private readonly long _dataStart;

    public string Path { get; }
    public IReadOnlyDictionary<string, SafeTensorEntry> Entries { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    private SafeTensorsFile(string path, FileStream stream, long dataStart,
        Dictionary<string, SafeTensorEntry> entries, Dictionary<string, string> metadata)
    {
        Path = path;
        _stream = stream;
        _dataStart = dataStart;
        Entries = entries;
        Metadata = metadata;
    }

    public static SafeTensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"{path}: file not found");
        // A buffer no larger than the file: a small or foreign file is not worth a megabyte.
        int buffer = (int)Math.Clamp(new FileInfo(path).Length, 1, 1 << 20);
        return ModuleLoading.DisposeOnFailure(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, buffer), stream => Parse(path, stream));
    }

    private static SafeTensorsFile Parse(string path, FileStream stream)
    {
        long fileLength = stream.Length;
        if (fileLength < 8) throw new CheckpointException($"{path}: not a safetensors file ({fileLength} bytes, the 8-byte header length is missing)");
        Span<byte> lenBytes = stackalloc byte[8];
        stream.ReadExactly(lenBytes);
        ulong headerLength = BitConverter.ToUInt64(lenBytes);
        // The first eight bytes of anything else read as a huge length: say what the file is not, not what it lacks.
        if (headerLength > (ulong)(fileLength - 8))
            throw new CheckpointException($"{path}: not a safetensors file (header length {headerLength} exceeds the file size {fileLength})");
        if (headerLength > MaxHeaderBytes)
            throw new CheckpointException($"{path}: safetensors header length {headerLength} exceeds the limit of {MaxHeaderBytes} bytes");
        var header = new byte[headerLength];
        stream.ReadExactly(header);
        if (header.Length == 0 || header[0] != (byte)'{')
            throw new CheckpointException($"{path}: not a safetensors file (the header does not start with '{{')");
        if (!System.Text.Unicode.Utf8.IsValid(header))
            throw new CheckpointException($"{path}: not a safetensors file (the header is not UTF-8 text)");

        var entries = new Dictionary<string, SafeTensorEntry>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header.AsMemory().TrimEnd((byte)' '));
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{path}: not a safetensors file (the header is not JSON: {e.Message})", e);
        }
        using (doc)
        {
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object)
                        throw new CheckpointException($"{path}: safetensors __metadata__ is a {prop.Value.ValueKind}, not an object of strings");
                    foreach (var m in prop.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                entries[prop.Name] = ParseEntry(path, prop);
            }
        }

        long dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;
        var ordered = entries.Values.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        long expected = 0;
        foreach (var e in ordered)
        {
            if (e.Begin != expected)
                throw new CheckpointException($"{path}: tensor '{e.Name}' starts at byte {e.Begin} of the data buffer, expected {expected} (the buffer must be covered without holes or overlaps)");
            expected = e.End;
        }
        if (expected > dataLength)
        {
            var cut = ordered.First(e => e.End > dataLength);
            throw new CheckpointException($"{path}: truncated: tensor '{cut.Name}' needs bytes up to {cut.End} of the data buffer but only {dataLength} are present");
        }
        return new SafeTensorsFile(path, stream, dataStart, entries, metadata);
    }

    private static SafeTensorEntry ParseEntry(string path, JsonProperty prop)
    {
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object
            || !v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String
            || !v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array
            || !v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw new CheckpointException($"{path}: tensor '{prop.Name}' has a malformed header entry (needs dtype, shape and data_offsets [begin, end])");
        string dtype = dt.GetString()!;
        long[] shape;
        long begin, end;
        if (sh.EnumerateArray().Concat(off.EnumerateArray()).Any(x => x.ValueKind != JsonValueKind.Number || !x.TryGetInt64(out _)))
            throw new CheckpointException($"{path}: tensor '{prop.Name}' has a shape or data_offsets entry that is not a 64-bit integer");
        shape = sh.EnumerateArray().Select(x => x.GetInt64()).ToArray();
        begin = off[0].GetInt64();
        end = off[1].GetInt64();
        if (shape.Any(d => d < 0)) throw new CheckpointException($"{path}: tensor '{prop.Name}' has a negative dimension in shape [{string.Join(", ", shape)}]");
        if (begin < 0 || end < begin) throw new CheckpointException($"{path}: tensor '{prop.Name}' has invalid data_offsets [{begin}, {end}]");
        int elementSize = SafeTensorsDType.ElementSize(dtype)
            ?? throw new CheckpointException($"{path}: tensor '{prop.Name}' has unknown dtype '{dtype}'");
        long bytes = ByteCount(shape, elementSize)
            ?? throw new CheckpointException($"{path}: tensor '{prop.Name}' shape [{string.Join(", ", shape)}] has more elements than any file holds");
        if (bytes != end - begin)
            throw new CheckpointException($"{path}: tensor '{prop.Name}' ({dtype} [{string.Join(", ", shape)}]) needs {bytes} bytes but data_offsets span {end - begin}");
        return new SafeTensorEntry(prop.Name, dtype, shape, begin, end);
    }

    /// <summary>Bytes of a tensor of this shape, or null when the count overflows a long (a lying header, never a real tensor).</summary>
    private static long? ByteCount(long[] shape, int elementSize)
    {
        if (shape.Contains(0)) return 0;
        try
        {
            return checked(shape.Aggregate(1L, (a, d) => a * d) * elementSize);
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    /// <summary>Reads one tensor onto the CPU in its stored dtype.</summary>
    public Tensor Read(string name)
    {
        if (!Entries.TryGetValue(name, out var e)) throw new CheckpointException($"{Path}: no tensor named '{name}'");
        var type = SafeTensorsDType.ToTorch(e.DType)
            ?? throw new CheckpointException($"{Path}: tensor '{name}' has dtype {e.DType}, which TorchSharp cannot hold");
        var t = torch.empty(e.Shape, type);
        if (e.ByteLength == 0) return t;
        lock (_stream)
        {
            _stream.Position = _dataStart + e.Begin;
            t.ReadBytesFromStream(_stream);
        }
        return t;
    }

    /// <summary>Reads every tensor (CPU, stored dtype). The caller owns the returned tensors.</summary>
    public Dictionary<string, Tensor> ReadAll()
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var name in Entries.Keys) result[name] = Read(name);
        return result;
    }

    public void Dispose() => _stream.Dispose();
}

/// <summary>Maps safetensors dtype names to element sizes and TorchSharp scalar types.</summary>
public static class SafeTensorsDType
{
    public static int? ElementSize(string dtype) => dtype switch
    {
        "BOOL" or "U8" or "I8" or "F8_E5M2" or "F8_E4M3" or "F8_E8M0" or "F8_E4M3FNUZ" or "F8_E5M2FNUZ" => 1,
        "I16" or "U16" or "F16" or "BF16" => 2,
        "I32" or "U32" or "F32" => 4,
        "I64" or "U64" or "F64" or "C64" => 8,
        _ => null,
    };

    public static ScalarType? ToTorch(string dtype) => dtype switch
    {
        "BOOL" => ScalarType.Bool,
        "U8" => ScalarType.Byte,
        "I8" => ScalarType.Int8,
        "I16" => ScalarType.Int16,
        "I32" => ScalarType.Int32,
        "I64" => ScalarType.Int64,
        "F16" => ScalarType.Float16,
        "BF16" => ScalarType.BFloat16,
        "F32" => ScalarType.Float32,
        "F64" => ScalarType.Float64,
        "C64" => ScalarType.ComplexFloat32,
        _ => null,
    };

    public static string FromTorch(ScalarType type) => type switch
    {
        ScalarType.Bool => "BOOL",
        ScalarType.Byte => "U8",
        ScalarType.Int8 => "I8",
        ScalarType.Int16 => "I16",
        ScalarType.Int32 => "I32",
        ScalarType.Int64 => "I64",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Float32 => "F32",
        ScalarType.Float64 => "F64",
        ScalarType.ComplexFloat32 => "C64",
        _ => throw new CheckpointException($"dtype {type} has no safetensors name"),
    };
}
