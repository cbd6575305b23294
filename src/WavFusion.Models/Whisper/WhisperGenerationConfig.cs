using System.Text.Json;
using System.Text.Json.Serialization;

namespace WavFusion.Models.Whisper;

/// <summary>The parts of a Hugging Face Whisper <c>generation_config.json</c> that decoding uses.</summary>
public sealed class WhisperGenerationConfig
{
    [JsonPropertyName("suppress_tokens")] public int[]? SuppressTokens { get; set; }
    [JsonPropertyName("begin_suppress_tokens")] public int[]? BeginSuppressTokens { get; set; }
    [JsonPropertyName("no_timestamps_token_id")] public int? NoTimestampsTokenId { get; set; }
    [JsonPropertyName("max_initial_timestamp_index")] public int? MaxInitialTimestampIndex { get; set; }
    [JsonPropertyName("is_multilingual")] public bool? IsMultilingual { get; set; }
    [JsonPropertyName("lang_to_id")] public Dictionary<string, int>? LanguageToId { get; set; }

    public static WhisperGenerationConfig Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<WhisperGenerationConfig>(File.ReadAllText(path))
                ?? throw new InvalidDataException($"{path}: empty generation config");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid generation_config.json: {e.Message}", e);
        }
    }
}
