using System.Text.Json;
using System.Text.Json.Serialization;
using WavFusion.Models.Branches;

namespace WavFusion.Models.Unimodal;

/// <summary>The stream a unimodal baseline classifies (Table 3's T and V rows).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<UnimodalStream>))]
public enum UnimodalStream
{
    [JsonStringEnumMemberName("text")] Text,
    [JsonStringEnumMemberName("visual")] Visual,
}

/// <summary>
/// A WavFusion auxiliary branch on its own: the text branch (GRU + self-attention over RoBERTa tokens) or
/// the A-GRU-LVC visual block over EfficientNet frames, mean-pooled, then dropout and a linear classifier.
/// Field names and defaults are WavFusion's (<see cref="WavFusionConfig"/>), so an ablation row differs from
/// the full model only in what it leaves out.
/// </summary>
public sealed record UnimodalConfig
{
    [JsonPropertyName("stream")] public UnimodalStream Stream { get; init; } = UnimodalStream.Text;

    [JsonPropertyName("text_dim")] public int TextDim { get; init; } = 768;
    [JsonPropertyName("text_gru_hidden")] public int TextGruHidden { get; init; } = 384;
    [JsonPropertyName("text_heads")] public int TextHeads { get; init; } = 8;

    [JsonPropertyName("visual_dim")] public int VisualDim { get; init; } = 1280;
    [JsonPropertyName("visual_gru_hidden")] public int VisualGruHidden { get; init; } = 32;
    [JsonPropertyName("visual_gru_bidirectional")] public bool VisualGruBidirectional { get; init; } = true;
    [JsonPropertyName("visual_heads")] public int VisualHeads { get; init; } = 4;
    [JsonPropertyName("use_lvc")] public bool UseLvc { get; init; } = true;
    [JsonPropertyName("lvc_codes")] public int LvcCodes { get; init; } = 32;
    [JsonPropertyName("lvc_channels")] public int LvcChannels { get; init; } = 256;
    [JsonPropertyName("lvc_bottleneck")] public int LvcBottleneck { get; init; } = 64;
    [JsonPropertyName("lvc_output_dim")] public int LvcOutputDim { get; init; } = 64;

    [JsonPropertyName("branch_dropout")] public double BranchDropout { get; init; } = 0.1;
    [JsonPropertyName("classifier_dropout")] public double ClassifierDropout { get; init; } = 0.1;

    [JsonPropertyName("label_names")]
    public IReadOnlyList<string> LabelNames { get; init; } = ["happy", "sad", "neutral", "angry", "excited", "frustrated"];

    [JsonIgnore] public int NumClasses => LabelNames.Count;

    /// <summary>Width of the stream's features as they arrive (the frozen encoder's).</summary>
    [JsonIgnore] public int InputDim => Stream == UnimodalStream.Text ? TextDim : VisualDim;

    [JsonIgnore]
    public VisualBranchOptions VisualOptions => new()
    {
        InputDim = VisualDim, GruHiddenPerDirection = VisualGruHidden, GruBidirectional = VisualGruBidirectional,
        Heads = VisualHeads, Dropout = BranchDropout, UseLvc = UseLvc, LvcChannels = LvcChannels,
        LvcBottleneck = LvcBottleneck, LvcCodes = LvcCodes, LvcOutputDim = LvcOutputDim,
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first field that cannot build a model.</summary>
    public void Validate()
    {
        if (Stream == UnimodalStream.Text)
        {
            Positive(TextDim, "text_dim");
            Positive(TextGruHidden, "text_gru_hidden");
            if (TextHeads <= 0 || 2 * TextGruHidden % TextHeads != 0)
                throw new ArgumentException($"text_heads ({TextHeads}) must be a positive divisor of 2·text_gru_hidden ({2 * TextGruHidden})");
        }
        else
        {
            Positive(VisualDim, "visual_dim");
            Positive(VisualGruHidden, "visual_gru_hidden");
            int width = VisualGruHidden * (VisualGruBidirectional ? 2 : 1);
            if (VisualHeads <= 0 || width % VisualHeads != 0)
                throw new ArgumentException($"visual_heads ({VisualHeads}) must be a positive divisor of the visual GRU width ({width})");
            if (UseLvc)
            {
                Positive(LvcCodes, "lvc_codes");
                Positive(LvcChannels, "lvc_channels");
                Positive(LvcBottleneck, "lvc_bottleneck");
                Positive(LvcOutputDim, "lvc_output_dim");
            }
        }
        Probability(BranchDropout, "branch_dropout");
        Probability(ClassifierDropout, "classifier_dropout");
        if (LabelNames.Count < 2) throw new ArgumentException($"label_names needs at least two classes; got {LabelNames.Count}");
        if (LabelNames.Distinct(StringComparer.Ordinal).Count() != LabelNames.Count)
            throw new ArgumentException($"label_names has duplicates: {string.Join(", ", LabelNames)}");
    }

    private static readonly JsonSerializerOptions WriteOptions = new() { WriteIndented = true };

    public string ToJson() => JsonSerializer.Serialize(this, WriteOptions);

    private static void Positive(int value, string field)
    {
        if (value <= 0) throw new ArgumentException($"{field} must be positive; got {value}");
    }

    private static void Probability(double p, string field)
    {
        if (p is < 0 or > 1 || double.IsNaN(p)) throw new ArgumentException($"{field} must lie in [0, 1]; got {p}");
    }
}
