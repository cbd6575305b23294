using System.Text.Json.Serialization;

namespace WavFusion.Models.Fusion;

/// <summary>
/// How auxiliary modalities enter the model: gated cross-modal attention in the deep layers (the paper's
/// model), or concatenation of the pooled audio, text and visual vectors before the classifier (Table 6's
/// 12/0 row).
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<FusionKind>))]
public enum FusionKind
{
    [JsonStringEnumMemberName("gated")] Gated,
    [JsonStringEnumMemberName("concat")] Concat,
}
