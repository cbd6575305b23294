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
}
