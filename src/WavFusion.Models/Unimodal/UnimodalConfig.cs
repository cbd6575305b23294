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
public sealed record UnimodalConfig : BranchedModelConfig
{
    [JsonPropertyName("stream")] public UnimodalStream Stream { get; init; } = UnimodalStream.Text;

    [JsonPropertyName("branch_dropout"), JsonPropertyOrder(TrailingFields)] public double BranchDropout { get; init; } = 0.1;
    [JsonPropertyName("classifier_dropout"), JsonPropertyOrder(TrailingFields)] public double ClassifierDropout { get; init; } = 0.1;

    [JsonPropertyName("label_names"), JsonPropertyOrder(TrailingFields)]
    public IReadOnlyList<string> LabelNames { get; init; } = ["happy", "sad", "neutral", "angry", "excited", "frustrated"];

    [JsonIgnore] public int NumClasses => LabelNames.Count;

    /// <summary>Width of the stream's features as they arrive (the frozen encoder's).</summary>
    [JsonIgnore] public int InputDim => Stream == UnimodalStream.Text ? TextDim : VisualDim;

    [JsonIgnore] public VisualBranchOptions VisualOptions => Visual.Options(BranchDropout);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first field that cannot build a model.</summary>
    public void Validate()
    {
        if (Stream == UnimodalStream.Text) Text.Validate();
        else Visual.Validate();
        ConfigChecks.Probability(BranchDropout, "branch_dropout");
        ConfigChecks.Probability(ClassifierDropout, "classifier_dropout");
        ConfigChecks.LabelNames(LabelNames);
    }

    private static readonly JsonSerializerOptions WriteOptions = new() { WriteIndented = true };

    public string ToJson() => JsonSerializer.Serialize(this, WriteOptions);
}
