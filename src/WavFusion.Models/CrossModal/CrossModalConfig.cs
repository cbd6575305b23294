using System.Text.Json;
using System.Text.Json.Serialization;

namespace WavFusion.Models.CrossModal;

/// <summary>Which streams a cross-modal model uses: the paper's bimodal model and its unimodal baselines.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CrossModalMode>))]
public enum CrossModalMode
{
    [JsonStringEnumMemberName("audio_text")] AudioText,
    [JsonStringEnumMemberName("audio")] AudioOnly,
    [JsonStringEnumMemberName("text")] TextOnly,
}

/// <summary>
/// Configuration of the cross-modal wav2vec2 + BERT model (Krishna D N, 2021): widths of the incoming
/// frozen features, the attention width, the classifier and the label set.
/// </summary>
public sealed record CrossModalConfig
{
    [JsonPropertyName("mode")] public CrossModalMode Mode { get; init; } = CrossModalMode.AudioText;
    [JsonPropertyName("audio_dim")] public int AudioDim { get; init; } = 768;
    [JsonPropertyName("text_dim")] public int TextDim { get; init; } = 768;
    [JsonPropertyName("model_dim")] public int ModelDim { get; init; } = 256;
    [JsonPropertyName("num_heads")] public int NumHeads { get; init; } = 4;
    [JsonPropertyName("classifier_hidden")] public int ClassifierHidden { get; init; } = 256;
    [JsonPropertyName("dropout")] public double Dropout { get; init; } = 0.1;
    [JsonPropertyName("label_names")] public IReadOnlyList<string> LabelNames { get; init; } = ["neutral", "happy", "sad", "angry"];

    [JsonIgnore] public int NumClasses => LabelNames.Count;

    [JsonIgnore] public bool UsesAudio => Mode != CrossModalMode.TextOnly;

    [JsonIgnore] public bool UsesText => Mode != CrossModalMode.AudioOnly;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first field that cannot build a model.</summary>
    public void Validate()
    {
        ConfigChecks.Positive(AudioDim, "audio_dim");
        ConfigChecks.Positive(TextDim, "text_dim");
        if (NumHeads <= 0 || ModelDim <= 0 || ModelDim % NumHeads != 0)
            throw new ArgumentException($"model_dim ({ModelDim}) must be a positive multiple of num_heads ({NumHeads})");
        ConfigChecks.Positive(ClassifierHidden, "classifier_hidden");
        if (Dropout is < 0 or >= 1) throw new ArgumentException($"dropout must lie in [0, 1); got {Dropout}");
        ConfigChecks.LabelNames(LabelNames);
    }

    public static CrossModalConfig Load(string path)
    {
        var config = JsonSerializer.Deserialize<CrossModalConfig>(File.ReadAllText(path))
                     ?? throw new ArgumentException($"{path}: empty configuration");
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{path}: {e.Message}", e);
        }
        return config;
    }

    public string ToJson() => JsonSerializer.Serialize(this, new JsonSerializerOptions { WriteIndented = true });
}
