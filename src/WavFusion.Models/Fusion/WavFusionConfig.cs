using System.Text.Json;
using System.Text.Json.Serialization;
using WavFusion.Models.Wav2Vec2;
using WavFusion.Models.Branches;

namespace WavFusion.Models.Fusion;

/// <summary>
/// WavFusion configuration (DESIGN.md §1.1). The wav2vec2 part is either inline (<c>wav2vec2</c>, a
/// Hugging Face config.json object) or a path to one (<c>wav2vec2_config_path</c>, relative to this file);
/// the last <c>deep_layers</c> transformer layers are fused, the others stay frozen.
/// </summary>
public sealed record WavFusionConfig
{
    [JsonPropertyName("wav2vec2")] public Wav2Vec2Config? Wav2Vec2 { get; init; }
    [JsonPropertyName("wav2vec2_config_path")] public string? Wav2Vec2ConfigPath { get; init; }
    [JsonPropertyName("deep_layers")] public int DeepLayers { get; init; } = 3;
    [JsonPropertyName("fusion")] public FusionKind Fusion { get; init; } = FusionKind.Gated;

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

    /// <summary>Heads of the cross-modal attention; 0 = the wav2vec2 layer's own head count (needed to reuse its q_proj meaningfully).</summary>
    [JsonPropertyName("cross_attention_heads")] public int CrossAttentionHeads { get; init; }
    [JsonPropertyName("cross_attention_dropout")] public double CrossAttentionDropout { get; init; } = 0.1;
    [JsonPropertyName("branch_dropout")] public double BranchDropout { get; init; } = 0.1;
    [JsonPropertyName("classifier_dropout")] public double ClassifierDropout { get; init; } = 0.1;
    [JsonPropertyName("modality_dropout")] public double ModalityDropout { get; init; } = 0.2;

    [JsonPropertyName("margin_alpha")] public double MarginAlpha { get; init; } = 0.5;
    [JsonPropertyName("margin_lambda")] public double MarginLambda { get; init; } = 1.0;
    [JsonPropertyName("margin_projection")] public int MarginProjection { get; init; } = 256;

    [JsonPropertyName("label_names")]
    public IReadOnlyList<string> LabelNames { get; init; } = ["happy", "sad", "neutral", "angry", "excited", "frustrated"];

    [JsonIgnore] public int NumClasses => LabelNames.Count;

    /// <summary>The wav2vec2 configuration (inline or already resolved from its path by <see cref="Load"/>).</summary>
    [JsonIgnore]
    public Wav2Vec2Config Audio => Wav2Vec2 ?? throw new ArgumentException(
        Wav2Vec2ConfigPath is null
            ? "wav2vec2: the configuration has neither a wav2vec2 object nor a wav2vec2_config_path"
            : $"wav2vec2_config_path '{Wav2Vec2ConfigPath}' was not resolved; load the configuration with WavFusionConfig.Load");

    [JsonIgnore] public int ShallowLayers => Audio.NumHiddenLayers - DeepLayers;

    [JsonIgnore] public int TextWidth => 2 * TextGruHidden;

    [JsonIgnore] public int VisualWidth => VisualGruHidden * (VisualGruBidirectional ? 2 : 1) + (UseLvc ? LvcOutputDim : 0);

    [JsonIgnore] public int EffectiveCrossAttentionHeads => CrossAttentionHeads > 0 ? CrossAttentionHeads : Audio.NumAttentionHeads;

    [JsonIgnore]
    public VisualBranchOptions VisualOptions => new()
    {
        InputDim = VisualDim, GruHiddenPerDirection = VisualGruHidden, GruBidirectional = VisualGruBidirectional,
        Heads = VisualHeads, Dropout = BranchDropout, UseLvc = UseLvc, LvcChannels = LvcChannels,
        LvcBottleneck = LvcBottleneck, LvcCodes = LvcCodes, LvcOutputDim = LvcOutputDim,
    };

    /// <summary>The paper's defaults on top of wav2vec2-base.</summary>
    public static WavFusionConfig Base() => new() { Wav2Vec2 = Wav2Vec2Config.Base() };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first field that cannot build a model.</summary>
    public void Validate()
    {
        var audio = Audio;
        audio.Validate();
        if (DeepLayers < 0 || DeepLayers > audio.NumHiddenLayers)
            throw new ArgumentException($"deep_layers must lie in [0, {audio.NumHiddenLayers}] (num_hidden_layers); got {DeepLayers}");
        if (Fusion == FusionKind.Gated && DeepLayers == 0)
            throw new ArgumentException("fusion 'gated' needs deep_layers > 0; the 12/0 split uses fusion 'concat'");
        Positive(TextDim, "text_dim");
        Positive(TextGruHidden, "text_gru_hidden");
        Divides(TextWidth, TextHeads, "text_heads", "2·text_gru_hidden");
        Positive(VisualDim, "visual_dim");
        Positive(VisualGruHidden, "visual_gru_hidden");
        Divides(VisualGruHidden * (VisualGruBidirectional ? 2 : 1), VisualHeads, "visual_heads", "the visual GRU width");
        if (UseLvc)
        {
            Positive(LvcCodes, "lvc_codes");
            Positive(LvcChannels, "lvc_channels");
            Positive(LvcBottleneck, "lvc_bottleneck");
            Positive(LvcOutputDim, "lvc_output_dim");
        }
        if (CrossAttentionHeads < 0) throw new ArgumentException($"cross_attention_heads must not be negative; got {CrossAttentionHeads}");
        Divides(audio.HiddenSize, EffectiveCrossAttentionHeads, "cross_attention_heads", "hidden_size");
        Probability(CrossAttentionDropout, "cross_attention_dropout");
        Probability(BranchDropout, "branch_dropout");
        Probability(ClassifierDropout, "classifier_dropout");
        Probability(ModalityDropout, "modality_dropout");
        if (MarginLambda < 0) throw new ArgumentException($"margin_lambda must not be negative; got {MarginLambda}");
        Positive(MarginProjection, "margin_projection");
        if (LabelNames.Count < 2) throw new ArgumentException($"label_names needs at least two classes; got {LabelNames.Count}");
        if (LabelNames.Distinct(StringComparer.Ordinal).Count() != LabelNames.Count)
            throw new ArgumentException($"label_names has duplicates: {string.Join(", ", LabelNames)}");
    }

    private static readonly JsonSerializerOptions ReadOptions = new() { ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    private static readonly JsonSerializerOptions WriteOptions = new() { WriteIndented = true };

    /// <summary>Reads and validates a configuration, resolving <c>wav2vec2_config_path</c> relative to the file.</summary>
    public static WavFusionConfig Load(string path)
    {
        if (!File.Exists(path)) throw new ArgumentException($"{path}: file not found", nameof(path));
        WavFusionConfig config;
        try
        {
            config = JsonSerializer.Deserialize<WavFusionConfig>(File.ReadAllText(path), ReadOptions)
                     ?? throw new ArgumentException($"{path}: the configuration is null", nameof(path));
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{path}: not a valid WavFusion configuration ({e.Path}): {e.Message}", nameof(path), e);
        }
        if (config.Wav2Vec2 is null && config.Wav2Vec2ConfigPath is not null)
        {
            var audioPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, config.Wav2Vec2ConfigPath);
            if (Directory.Exists(audioPath)) audioPath = Path.Combine(audioPath, "config.json");
            config = config with { Wav2Vec2 = Wav2Vec2Config.Load(audioPath) };
        }
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{path}: {e.Message}", nameof(path), e);
        }
        return config;
    }

    public string ToJson() => JsonSerializer.Serialize(this, WriteOptions);

    private static void Positive(int value, string field)
    {
        if (value <= 0) throw new ArgumentException($"{field} must be positive; got {value}");
    }

    private static void Divides(int width, int heads, string field, string widthName)
    {
        if (heads <= 0 || width % heads != 0)
            throw new ArgumentException($"{field} ({heads}) must be a positive divisor of {widthName} ({width})");
    }

    private static void Probability(double p, string field)
    {
        if (p is < 0 or > 1 || double.IsNaN(p)) throw new ArgumentException($"{field} must lie in [0, 1]; got {p}");
    }
}
