using System.Text.Json;
using System.Text.Json.Serialization;
using WavFusion.Core.Checkpoints;

namespace WavFusion.Models.Wav2Vec2;

/// <summary>
/// The Hugging Face wav2vec 2.0 <c>config.json</c>. Defaults are transformers' <c>Wav2Vec2Config</c>
/// defaults, so a config.json that omits a field reads as transformers would read it (the presets keep
/// these defaults for the dropout fields, which only matter in training).
/// </summary>
public sealed class Wav2Vec2Config
{
    /// <summary>The only rate the public checkpoints were trained on.</summary>
    public const int SamplingRate = 16000;

    [JsonPropertyName("model_type")] public string ModelType { get; set; } = "wav2vec2";
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; set; } = 768;
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; set; } = 12;
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; set; } = 12;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; set; } = 3072;
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; set; } = "gelu";
    [JsonPropertyName("feat_extract_activation")] public string FeatExtractActivation { get; set; } = "gelu";
    [JsonPropertyName("conv_dim")] public IReadOnlyList<int> ConvDim { get; set; } = [512, 512, 512, 512, 512, 512, 512];
    [JsonPropertyName("conv_kernel")] public IReadOnlyList<int> ConvKernel { get; set; } = [10, 3, 3, 3, 3, 2, 2];
    [JsonPropertyName("conv_stride")] public IReadOnlyList<int> ConvStride { get; set; } = [5, 2, 2, 2, 2, 2, 2];
    [JsonPropertyName("conv_bias")] public bool ConvBias { get; set; }
    /// <summary>"group" (GroupNorm on the first conv layer only) or "layer" (LayerNorm after every conv layer).</summary>
    [JsonPropertyName("feat_extract_norm")] public string FeatExtractNorm { get; set; } = "group";
    /// <summary>True: pre-LN transformer with a final LayerNorm (large-lv60); false: post-LN (base).</summary>
    [JsonPropertyName("do_stable_layer_norm")] public bool DoStableLayerNorm { get; set; }
    [JsonPropertyName("num_conv_pos_embeddings")] public int NumConvPosEmbeddings { get; set; } = 128;
    [JsonPropertyName("num_conv_pos_embedding_groups")] public int NumConvPosEmbeddingGroups { get; set; } = 16;
    [JsonPropertyName("layer_norm_eps")] public double LayerNormEps { get; set; } = 1e-5;
    [JsonPropertyName("hidden_dropout")] public double HiddenDropout { get; set; } = 0.1;
    [JsonPropertyName("attention_dropout")] public double AttentionDropout { get; set; } = 0.1;
    [JsonPropertyName("activation_dropout")] public double ActivationDropout { get; set; } = 0.1;
    [JsonPropertyName("feat_proj_dropout")] public double FeatProjDropout { get; set; }
    [JsonPropertyName("layerdrop")] public double LayerDrop { get; set; } = 0.1;
    /// <summary>SpecAugment time masking of pretraining/fine-tuning; read for completeness, the port does not apply it.</summary>
    [JsonPropertyName("mask_time_prob")] public double MaskTimeProb { get; set; } = 0.05;

    public int ConvLayerCount => ConvDim.Count;
    public int ExtractDim => ConvDim[^1];
    public bool UsesLayerNormFeatureEncoder => FeatExtractNorm == "layer";

    /// <summary>wav2vec2-base (group norm feature encoder, post-LN transformer, no conv bias).</summary>
    public static Wav2Vec2Config Base() => new();

    /// <summary>wav2vec2-large-lv60 (layer norm feature encoder with conv bias, pre-LN transformer).</summary>
    public static Wav2Vec2Config LargeLv60() => new()
    {
        HiddenSize = 1024,
        NumHiddenLayers = 24,
        NumAttentionHeads = 16,
        IntermediateSize = 4096,
        FeatExtractNorm = "layer",
        DoStableLayerNorm = true,
        ConvBias = true,
    };

    private static readonly JsonSerializerOptions JsonOptions = new() { ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>Reads and validates a config.json; a malformed or unsupported file fails naming the file and field.</summary>
    public static Wav2Vec2Config Load(string configJsonPath)
    {
        if (!File.Exists(configJsonPath)) throw new CheckpointException($"{configJsonPath}: file not found");
        Wav2Vec2Config config;
        try
        {
            config = JsonSerializer.Deserialize<Wav2Vec2Config>(File.ReadAllText(configJsonPath), JsonOptions)
                ?? throw new CheckpointException($"{configJsonPath}: config is null");
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{configJsonPath}: not a valid wav2vec2 config.json ({e.Path}): {e.Message}", e);
        }
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException($"{configJsonPath}: {e.Message}", e);
        }
        return config;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first field the port cannot build.</summary>
    public void Validate()
    {
        if (ModelType != "wav2vec2") throw new ArgumentException($"model_type is '{ModelType}', expected 'wav2vec2'");
        Positive(HiddenSize, "hidden_size");
        Positive(NumHiddenLayers, "num_hidden_layers");
        Positive(NumAttentionHeads, "num_attention_heads");
        Positive(IntermediateSize, "intermediate_size");
        Positive(NumConvPosEmbeddings, "num_conv_pos_embeddings");
        Positive(NumConvPosEmbeddingGroups, "num_conv_pos_embedding_groups");
        if (HiddenSize % NumAttentionHeads != 0)
            throw new ArgumentException($"hidden_size {HiddenSize} is not divisible by num_attention_heads {NumAttentionHeads}");
        if (HiddenSize % NumConvPosEmbeddingGroups != 0)
            throw new ArgumentException($"hidden_size {HiddenSize} is not divisible by num_conv_pos_embedding_groups {NumConvPosEmbeddingGroups}");
        if (ConvDim.Count == 0 || ConvDim.Count != ConvKernel.Count || ConvDim.Count != ConvStride.Count)
            throw new ArgumentException($"conv_dim ({ConvDim.Count}), conv_kernel ({ConvKernel.Count}) and conv_stride ({ConvStride.Count}) must be non-empty and of equal length");
        for (int i = 0; i < ConvDim.Count; i++)
        {
            Positive(ConvDim[i], $"conv_dim[{i}]");
            Positive(ConvKernel[i], $"conv_kernel[{i}]");
            Positive(ConvStride[i], $"conv_stride[{i}]");
        }
        if (FeatExtractNorm is not ("group" or "layer"))
            throw new ArgumentException($"feat_extract_norm is '{FeatExtractNorm}', expected 'group' or 'layer'");
        if (HiddenAct != "gelu") throw new ArgumentException($"hidden_act '{HiddenAct}' is not supported (only 'gelu')");
        if (FeatExtractActivation != "gelu") throw new ArgumentException($"feat_extract_activation '{FeatExtractActivation}' is not supported (only 'gelu')");
        if (LayerNormEps <= 0) throw new ArgumentException($"layer_norm_eps must be positive, got {LayerNormEps}");
    }

    private static void Positive(int value, string field)
    {
        if (value <= 0) throw new ArgumentException($"{field} must be positive, got {value}");
    }

    /// <summary>Frames the feature encoder yields for <paramref name="samples"/> samples: floor((L − k) / s) + 1 per conv layer, 0 when too short.</summary>
    public int FrameCount(long samples)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(samples);
        long length = samples;
        for (int i = 0; i < ConvKernel.Count; i++)
        {
            if (length < ConvKernel[i]) return 0;
            length = (length - ConvKernel[i]) / ConvStride[i] + 1;
        }
        return checked((int)length);
    }

    /// <summary>The fewest samples that give one frame (400 for the public checkpoints).</summary>
    public int ReceptiveField
    {
        get
        {
            long span = 1, jump = 1;
            for (int i = 0; i < ConvKernel.Count; i++)
            {
                span += (ConvKernel[i] - 1) * jump;
                jump *= ConvStride[i];
            }
            return checked((int)span);
        }
    }
}
