namespace WavFusion.Models.Whisper;

/// <summary>ggml tensor element types found in whisper.cpp model files (values as stored in the file).</summary>
public enum GgmlType
{
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
}

public static class GgmlTypes
{
    /// <summary>Values per block: 1 for plain floats, 32 for the quantised types.</summary>
    public static int BlockValues(GgmlType type) => type is GgmlType.F32 or GgmlType.F16 ? 1 : 32;

    /// <summary>Bytes per block (see ggml-common.h: an f16 scale, an f16 minimum for the _1 types, the 5th bits, the packed values).</summary>
    public static int BlockBytes(GgmlType type) => type switch
    {
        GgmlType.F32 => 4,
        GgmlType.F16 => 2,
        GgmlType.Q4_0 => 2 + 16,
        GgmlType.Q4_1 => 2 + 2 + 16,
        GgmlType.Q5_0 => 2 + 4 + 16,
        GgmlType.Q5_1 => 2 + 2 + 4 + 16,
        GgmlType.Q8_0 => 2 + 32,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a supported ggml type"),
    };

    public static bool IsSupported(int raw) => Enum.IsDefined((GgmlType)raw);

    /// <summary>Names of the types ggml defines that this loader does not read, for error messages.</summary>
    public static string Describe(int raw) => raw switch
    {
        _ when IsSupported(raw) => ((GgmlType)raw).ToString(),
        4 or 5 => $"{raw} (Q4_2/Q4_3, removed from ggml)",
        9 => "9 (Q8_1)",
        10 => "10 (Q2_K)", 11 => "11 (Q3_K)", 12 => "12 (Q4_K)", 13 => "13 (Q5_K)", 14 => "14 (Q6_K)", 15 => "15 (Q8_K)",
        _ => $"{raw} (unknown)",
    };

    public static long ByteCount(GgmlType type, long values, string what)
    {
        int block = BlockValues(type);
        if (values % block != 0)
            throw new ArgumentException($"{what}: {values} values are not a whole number of {type} blocks of {block}");
        return values / block * BlockBytes(type);
    }
}
