namespace WavFusion.Models.Vision;

/// <summary>One MBConv stage of an EfficientNet: its blocks share kernel and expansion; only the first one strides and changes width.</summary>
public sealed record EfficientNetStage(int ExpandRatio, int Kernel, int Stride, int InChannels, int OutChannels, int Repeats)
{
    /// <summary>EfficientNet-B0 (width and depth multipliers 1.0), as in torchvision's and timm's definitions.</summary>
    public static IReadOnlyList<EfficientNetStage> B0 { get; } =
    [
        new(1, 3, 1, 32, 16, 1),
        new(6, 3, 2, 16, 24, 2),
        new(6, 5, 2, 24, 40, 2),
        new(6, 3, 2, 40, 80, 3),
        new(6, 5, 1, 80, 112, 3),
        new(6, 5, 2, 112, 192, 4),
        new(6, 3, 1, 192, 320, 1),
    ];

    /// <summary>
    /// B0's stages under torchvision's compound scaling (<c>MBConvConfig</c>): every stage width goes through
    /// <see cref="MakeDivisible"/>(c · width), every repeat count becomes ⌈n · depth⌉. 1.0 / 1.0 is B0 itself.
    /// </summary>
    public static IReadOnlyList<EfficientNetStage> Scaled(double widthMult, double depthMult)
    {
        if (!(widthMult > 0) || double.IsInfinity(widthMult)) throw new ArgumentOutOfRangeException(nameof(widthMult), widthMult, "width_mult must be positive");
        if (!(depthMult > 0) || double.IsInfinity(depthMult)) throw new ArgumentOutOfRangeException(nameof(depthMult), depthMult, "depth_mult must be positive");
        return B0.Select(s => s with
        {
            InChannels = MakeDivisible(s.InChannels * widthMult),
            OutChannels = MakeDivisible(s.OutChannels * widthMult),
            Repeats = checked((int)Math.Ceiling(s.Repeats * depthMult)),
        }).ToArray();
    }

    /// <summary>
    /// torchvision's <c>_make_divisible(v, 8)</c>: the nearest multiple of 8 (halves round up), at least 8, and one
    /// step of 8 higher when rounding lost more than 10 % of <paramref name="value"/>.
    /// </summary>
    public static int MakeDivisible(double value, int divisor = 8)
    {
        int rounded = Math.Max(divisor, checked((int)(value + divisor / 2.0)) / divisor * divisor);
        return rounded < 0.9 * value ? rounded + divisor : rounded;
    }
}
