using System.Text.Json;
using System.Text.Json.Serialization;

namespace WavFusion.Models.Text;

/// <summary>
/// The Hugging Face BERT-family config.json fields that shape the encoder. RoBERTa and BERT share the
/// architecture and differ only in defaults and in how position ids are formed (<see cref="RobertaConfig"/>,
/// <see cref="BertConfig"/>).
/// </summary>
public abstract class TextEncoderConfig
{
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; }
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; } = 768;
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; init; } = 12;
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; init; } = 12;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; } = 3072;
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; init; } = "gelu";
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; init; }
    [JsonPropertyName("type_vocab_size")] public int TypeVocabSize { get; init; }
    [JsonPropertyName("pad_token_id")] public int PadTokenId { get; init; }
    [JsonPropertyName("layer_norm_eps")] public double LayerNormEps { get; init; }
    [JsonPropertyName("hidden_dropout_prob")] public double HiddenDropoutProb { get; init; } = 0.1;
    [JsonPropertyName("attention_probs_dropout_prob")] public double AttentionProbsDropoutProb { get; init; } = 0.1;

    public int HeadDim => HiddenSize / NumAttentionHeads;

    /// <summary>Throws naming the field when the sizes cannot form a model.</summary>
    public void Validate(string source)
    {
        void Positive(int value, string field)
        {
            if (value <= 0) throw new ArgumentException($"{source}: {field} must be positive, got {value}");
        }
        Positive(VocabSize, "vocab_size");
        Positive(HiddenSize, "hidden_size");
        Positive(NumHiddenLayers, "num_hidden_layers");
        Positive(NumAttentionHeads, "num_attention_heads");
        Positive(IntermediateSize, "intermediate_size");
        Positive(MaxPositionEmbeddings, "max_position_embeddings");
        Positive(TypeVocabSize, "type_vocab_size");
        if (HiddenSize % NumAttentionHeads != 0)
            throw new ArgumentException($"{source}: hidden_size {HiddenSize} is not a multiple of num_attention_heads {NumAttentionHeads}");
        if (PadTokenId < 0 || PadTokenId >= VocabSize)
            throw new ArgumentException($"{source}: pad_token_id {PadTokenId} is outside the vocabulary of {VocabSize}");
        _ = TextActivation.Resolve(HiddenAct, source);
    }

    private protected static T LoadJson<T>(string configJsonPath) where T : TextEncoderConfig
    {
        if (!File.Exists(configJsonPath)) throw new FileNotFoundException($"{configJsonPath}: config file not found", configJsonPath);
        T config;
        try
        {
            config = JsonSerializer.Deserialize<T>(File.ReadAllText(configJsonPath))
                ?? throw new ArgumentException($"{configJsonPath}: config.json is null");
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{configJsonPath}: malformed config.json: {e.Message}", e);
        }
        config.Validate(configJsonPath);
        return config;
    }
}
