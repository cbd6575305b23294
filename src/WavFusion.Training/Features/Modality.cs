using System.Text.Json.Serialization;

namespace WavFusion.Training.Features;

/// <summary>The streams an experiment uses (Table 3's subsets are sets of these).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Modality>))]
public enum Modality
{
    [JsonStringEnumMemberName("audio")] Audio,
    [JsonStringEnumMemberName("text")] Text,
    [JsonStringEnumMemberName("visual")] Visual,
}
