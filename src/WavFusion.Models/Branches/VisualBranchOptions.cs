namespace WavFusion.Models.Branches;

/// <summary>Sizes of the visual block (defaults: EfficientNet-B0 1280-d frames, 64-d A-GRU, 64-d LVC with K = 32).</summary>
public sealed record VisualBranchOptions
{
    public long InputDim { get; init; } = 1280;
    public long GruHiddenPerDirection { get; init; } = 32;
    public bool GruBidirectional { get; init; } = true;
    public int Heads { get; init; } = 4;
    public double Dropout { get; init; } = 0.1;
    public bool UseLvc { get; init; } = true;
    public long LvcChannels { get; init; } = 256;
    public long LvcBottleneck { get; init; } = 64;
    public int LvcCodes { get; init; } = 32;
    public long LvcOutputDim { get; init; } = 64;
}
