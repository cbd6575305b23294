using System.Text.Json;
using System.Text.Json.Serialization;

namespace WavFusion.Models.Whisper;

/// <summary>The Hugging Face <c>config.json</c> of a Whisper model (the fields the architecture needs).</summary>
public sealed class WhisperConfig
{
    [JsonPropertyName("num_mel_bins")] public int NumMelBins { get; set; } = 80;
    [JsonPropertyName("max_source_positions")] public int MaxSourcePositions { get; set; } = 1500;
    [JsonPropertyName("d_model")] public int DModel { get; set; } = 384;
    [JsonPropertyName("encoder_attention_heads")] public int EncoderAttentionHeads { get; set; } = 6;
    [JsonPropertyName("encoder_layers")] public int EncoderLayers { get; set; } = 4;
    [JsonPropertyName("encoder_ffn_dim")] public int EncoderFfnDim { get; set; } = 1536;
    [JsonPropertyName("decoder_attention_heads")] public int DecoderAttentionHeads { get; set; } = 6;
    [JsonPropertyName("decoder_layers")] public int DecoderLayers { get; set; } = 4;
    [JsonPropertyName("decoder_ffn_dim")] public int DecoderFfnDim { get; set; } = 1536;
    [JsonPropertyName("vocab_size")] public int VocabSize { get; set; } = 51865;
    [JsonPropertyName("max_target_positions")] public int MaxTargetPositions { get; set; } = 448;
    [JsonPropertyName("activation_function")] public string ActivationFunction { get; set; } = "gelu";
    [JsonPropertyName("scale_embedding")] public bool ScaleEmbedding { get; set; }
    [JsonPropertyName("decoder_start_token_id")] public int DecoderStartTokenId { get; set; } = 50258;
    [JsonPropertyName("eos_token_id")] public int EosTokenId { get; set; } = 50257;
    [JsonPropertyName("pad_token_id")] public int PadTokenId { get; set; } = 50257;

    public static WhisperConfig Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: Whisper config not found", path);
        WhisperConfig config;
        try
        {
            config = JsonSerializer.Deserialize<WhisperConfig>(File.ReadAllText(path))
                ?? throw new InvalidDataException($"{path}: config.json is empty");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid Whisper config.json: {e.Message}", e);
        }
        config.Validate(path);
        return config;
    }

    /// <summary>Throws naming the field when the configuration describes something this port does not build.</summary>
    public void Validate(string source)
    {
        Require(NumMelBins > 0, "num_mel_bins", NumMelBins);
        Require(MaxSourcePositions > 0, "max_source_positions", MaxSourcePositions);
        Require(MaxTargetPositions > 0, "max_target_positions", MaxTargetPositions);
        Require(VocabSize > 0, "vocab_size", VocabSize);
        Require(EncoderLayers >= 0 && DecoderLayers >= 0, "encoder_layers/decoder_layers", $"{EncoderLayers}/{DecoderLayers}");
        Require(EncoderFfnDim > 0 && DecoderFfnDim > 0, "encoder_ffn_dim/decoder_ffn_dim", $"{EncoderFfnDim}/{DecoderFfnDim}");
        Require(EncoderAttentionHeads > 0 && DModel % EncoderAttentionHeads == 0, "encoder_attention_heads", $"{EncoderAttentionHeads} (d_model {DModel})");
        Require(DecoderAttentionHeads > 0 && DModel % DecoderAttentionHeads == 0, "decoder_attention_heads", $"{DecoderAttentionHeads} (d_model {DModel})");
        // Every published Whisper uses exact GELU and unscaled embeddings; anything else is another model.
        Require(ActivationFunction == "gelu", "activation_function", ActivationFunction);
        Require(!ScaleEmbedding, "scale_embedding", ScaleEmbedding);

        void Require(bool ok, string field, object value)
        {
            if (!ok) throw new InvalidDataException($"{source}: unsupported Whisper config {field} = {value}");
        }
    }
}
