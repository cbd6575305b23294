namespace WavFusion.Models.Branches;

/// <summary>
/// The A-GRU-LVC visual block's sizes as configured (<c>visual_*</c> and <c>lvc_*</c>); the LVC sizes are
/// checked only when <c>use_lvc</c> is on.
/// </summary>
public sealed record VisualBranchConfig(
    int Dim, int GruHidden, bool GruBidirectional, int Heads,
    bool UseLvc, int LvcCodes, int LvcChannels, int LvcBottleneck, int LvcOutputDim)
{
    public int GruWidth => GruHidden * (GruBidirectional ? 2 : 1);

    /// <summary>Width of the block's output: the attended GRU, then the LVC's when it is on.</summary>
    public int Width => GruWidth + (UseLvc ? LvcOutputDim : 0);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first field that cannot build the block.</summary>
    public void Validate()
    {
        ConfigChecks.Positive(Dim, "visual_dim");
        ConfigChecks.Positive(GruHidden, "visual_gru_hidden");
        ConfigChecks.Divides(GruWidth, Heads, "visual_heads", "the visual GRU width");
        if (!UseLvc) return;
        ConfigChecks.Positive(LvcCodes, "lvc_codes");
        ConfigChecks.Positive(LvcChannels, "lvc_channels");
        ConfigChecks.Positive(LvcBottleneck, "lvc_bottleneck");
        ConfigChecks.Positive(LvcOutputDim, "lvc_output_dim");
    }

    /// <summary>The block's module options, with the configuration's branch dropout.</summary>
    public VisualBranchOptions Options(double dropout) => new()
    {
        InputDim = Dim, GruHiddenPerDirection = GruHidden, GruBidirectional = GruBidirectional,
        Heads = Heads, Dropout = dropout, UseLvc = UseLvc, LvcChannels = LvcChannels,
        LvcBottleneck = LvcBottleneck, LvcCodes = LvcCodes, LvcOutputDim = LvcOutputDim,
    };
}
