using System.Text.Json.Serialization;

namespace WavFusion.Models.Branches;

/// <summary>
/// The text and visual branch fields of a configuration whose model carries WavFusion's branches (WavFusion
/// itself and its unimodal baselines), declared once with their defaults. They stay flat in the JSON
/// (<c>text_dim</c>, <c>visual_heads</c>, ...), where checkpoints and experiment files have always had them;
/// <see cref="Text"/> and <see cref="Visual"/> group them for checks and construction.
/// </summary>
public abstract record BranchedModelConfig
{
    /// <summary>JSON order of the branch fields: after the derived configuration's own fields of the default
    /// order 0 and before those it marks <see cref="TrailingFields"/>, where they have always been.</summary>
    protected const int BranchFields = 1, TrailingFields = 2;

    [JsonPropertyName("text_dim"), JsonPropertyOrder(BranchFields)] public int TextDim { get; init; } = 768;
    [JsonPropertyName("text_gru_hidden"), JsonPropertyOrder(BranchFields)] public int TextGruHidden { get; init; } = 384;
    [JsonPropertyName("text_heads"), JsonPropertyOrder(BranchFields)] public int TextHeads { get; init; } = 8;

    [JsonPropertyName("visual_dim"), JsonPropertyOrder(BranchFields)] public int VisualDim { get; init; } = 1280;
    [JsonPropertyName("visual_gru_hidden"), JsonPropertyOrder(BranchFields)] public int VisualGruHidden { get; init; } = 32;
    [JsonPropertyName("visual_gru_bidirectional"), JsonPropertyOrder(BranchFields)] public bool VisualGruBidirectional { get; init; } = true;
    [JsonPropertyName("visual_heads"), JsonPropertyOrder(BranchFields)] public int VisualHeads { get; init; } = 4;
    [JsonPropertyName("use_lvc"), JsonPropertyOrder(BranchFields)] public bool UseLvc { get; init; } = true;
    [JsonPropertyName("lvc_codes"), JsonPropertyOrder(BranchFields)] public int LvcCodes { get; init; } = 32;
    [JsonPropertyName("lvc_channels"), JsonPropertyOrder(BranchFields)] public int LvcChannels { get; init; } = 256;
    [JsonPropertyName("lvc_bottleneck"), JsonPropertyOrder(BranchFields)] public int LvcBottleneck { get; init; } = 64;
    [JsonPropertyName("lvc_output_dim"), JsonPropertyOrder(BranchFields)] public int LvcOutputDim { get; init; } = 64;

    [JsonIgnore] public TextBranchConfig Text => new(TextDim, TextGruHidden, TextHeads);

    [JsonIgnore]
    public VisualBranchConfig Visual => new(VisualDim, VisualGruHidden, VisualGruBidirectional, VisualHeads,
        UseLvc, LvcCodes, LvcChannels, LvcBottleneck, LvcOutputDim);
}
