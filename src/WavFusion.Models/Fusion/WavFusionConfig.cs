using System.Text.Json;
using System.Text.Json.Serialization;
using WavFusion.Models.Wav2Vec2;
using WavFusion.Models.Branches;

namespace WavFusion.Models.Fusion;

/// <summary>
/// Configuration of <see cref="WavFusionModel"/>, the paper's defaults unless set. The wav2vec2 part is either inline (<c>wav2vec2</c>, a
/// Hugging Face config.json object) or a path to one (<c>wav2vec2_config_path</c>, relative to this file);
/// the last <c>deep_layers</c> transformer layers are fused, the others stay frozen.
/// </summary>
public sealed record WavFusionConfig : BranchedModelConfig
{
    [JsonPropertyName("wav2vec2")] public Wav2Vec2Config? Wav2Vec2 { get; init; }
    [JsonPropertyName("wav2vec2_config_path")] public string? Wav2Vec2ConfigPath { get; init; }
    [JsonPropertyName("deep_layers")] public int DeepLayers { get; init; } = 3;
    [JsonPropertyName("fusion")] public FusionKind Fusion { get; init; } = FusionKind.Gated;

    /// <summary>Heads of the cross-modal attention; 0 = the wav2vec2 layer's own head count (needed to reuse its q_proj meaningfully).</summary>
    [JsonPropertyName("cross_attention_heads"), JsonPropertyOrder(TrailingFields)] public int CrossAttentionHeads { get; init; }
    [JsonPropertyName("cross_attention_dropout"), JsonPropertyOrder(TrailingFields)] public double CrossAttentionDropout { get; init; } = 0.1;
    [JsonPropertyName("branch_dropout"), JsonPropertyOrder(TrailingFields)] public double BranchDropout { get; init; } = 0.1;
    [JsonPropertyName("classifier_dropout"), JsonPropertyOrder(TrailingFields)] public double ClassifierDropout { get; init; } = 0.1;
    [JsonPropertyName("modality_dropout"), JsonPropertyOrder(TrailingFields)] public double ModalityDropout { get; init; } = 0.2;

    [JsonPropertyName("margin_alpha"), JsonPropertyOrder(TrailingFields)] public double MarginAlpha { get; init; } = 0.5;
    [JsonPropertyName("margin_lambda"), JsonPropertyOrder(TrailingFields)] public double MarginLambda { get; init; } = 1.0;
    [JsonPropertyName("margin_projection"), JsonPropertyOrder(TrailingFields)] public int MarginProjection { get; init; } = 256;

    [JsonPropertyName("label_names"), JsonPropertyOrder(TrailingFields)]
    public IReadOnlyList<string> LabelNames { get; init; } = ["happy", "sad", "neutral", "angry", "excited", "frustrated"];

    [JsonIgnore] public int NumClasses => LabelNames.Count;

    /// <summary>The wav2vec2 configuration (inline or already resolved from its path by <see cref="Load"/>).</summary>
    [JsonIgnore]
    public Wav2Vec2Config Audio => Wav2Vec2 ?? throw new ArgumentException(
        Wav2Vec2ConfigPath is null
            ? "wav2vec2: the configuration has neither a wav2vec2 object nor a wav2vec2_config_path"
            : $"wav2vec2_config_path '{Wav2Vec2ConfigPath}' was not resolved; load the configuration with WavFusionConfig.Load");

    [JsonIgnore] public int ShallowLayers => Audio.NumHiddenLayers - DeepLayers;

    [JsonIgnore] public int TextWidth => Text.Width;

    [JsonIgnore] public int VisualWidth => Visual.Width;

    [JsonIgnore] public int EffectiveCrossAttentionHeads => CrossAttentionHeads > 0 ? CrossAttentionHeads : Audio.NumAttentionHeads;

    [JsonIgnore] public VisualBranchOptions VisualOptions => Visual.Options(BranchDropout);

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
        Text.Validate();
        Visual.Validate();
        if (CrossAttentionHeads < 0) throw new ArgumentException($"cross_attention_heads must not be negative; got {CrossAttentionHeads}");
        ConfigChecks.Divides(audio.HiddenSize, EffectiveCrossAttentionHeads, "cross_attention_heads", "hidden_size");
        ConfigChecks.Probability(CrossAttentionDropout, "cross_attention_dropout");
        ConfigChecks.Probability(BranchDropout, "branch_dropout");
        ConfigChecks.Probability(ClassifierDropout, "classifier_dropout");
        ConfigChecks.Probability(ModalityDropout, "modality_dropout");
        if (MarginLambda < 0) throw new ArgumentException($"margin_lambda must not be negative; got {MarginLambda}");
        ConfigChecks.Positive(MarginProjection, "margin_projection");
        ConfigChecks.LabelNames(LabelNames);
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
}
