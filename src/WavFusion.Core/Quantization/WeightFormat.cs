namespace WavFusion.Core.Quantization;

/// <summary>
/// How a linear layer's weights are held for CPU inference. Activations stay float32 in every format: only the
/// weights, which a one-token decoding step reads once each and which therefore bound its speed, get smaller.
/// </summary>
public enum WeightFormat
{
    /// <summary>float32, computed by libtorch (the reference).</summary>
    Fp32,
    /// <summary>IEEE half precision, widened to float32 in registers (half the bytes of fp32).</summary>
    F16,
    /// <summary>
    /// int8 in blocks of <see cref="PackedMatrix.BlockSize"/> values along a row, each block with its own float32
    /// scale (the layout of ggml's Q8_0, so Q8_0 files load without a trip through float32): 1.125 bytes a weight.
    /// </summary>
    Int8,
}

public static class WeightFormats
{
    /// <summary>The names the command line and the configuration accept, in the order of the enum.</summary>
    public static IReadOnlyList<string> Names { get; } = ["fp32", "f16", "int8"];

    /// <summary>Parses fp32, f16 or int8 (case-insensitive); <paramref name="what"/> names the option or field in the error.</summary>
    public static WeightFormat Parse(string name, string what = "--weights") => name?.Trim().ToLowerInvariant() switch
    {
        "fp32" or "float32" => WeightFormat.Fp32,
        "f16" or "fp16" or "float16" => WeightFormat.F16,
        "int8" or "q8" => WeightFormat.Int8,
        _ => throw new ArgumentException($"{what}: '{name}' is not a weight format ({string.Join(", ", Names)})"),
    };

    public static string Name(this WeightFormat format) => format switch
    {
        WeightFormat.Fp32 => "fp32",
        WeightFormat.F16 => "f16",
        WeightFormat.Int8 => "int8",
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
    };

    /// <summary>Bytes one weight takes in <paramref name="format"/> (int8 includes its share of the block scale).</summary>
    public static double BytesPerWeight(this WeightFormat format) => format switch
    {
        WeightFormat.Fp32 => 4,
        WeightFormat.F16 => 2,
        WeightFormat.Int8 => 1 + 4.0 / PackedMatrix.BlockSize,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
    };
}
