using System.Text.Json;
using System.Text.Json.Serialization;
using WavFusion.Core.Checkpoints;

namespace WavFusion.Models.Vision;

/// <summary>
/// The short descriptor beside an EfficientNet-B0 checkpoint (<c>config.json</c>): which library's key
/// names the weights use, the classifier width and the image size the weights were exercised at.
/// </summary>
public sealed class EfficientNetConfig
{
    [JsonPropertyName("model_type")]
    public string ModelType { get; init; } = "efficientnet_b0";

    /// <summary>"torchvision" or "timm"; null lets the loader tell from the keys.</summary>
    [JsonPropertyName("source")]
    public string? Source { get; init; }

    [JsonPropertyName("num_classes")]
    public int? NumClasses { get; init; }

    [JsonPropertyName("image_size")]
    public int? ImageSize { get; init; }

    /// <summary>The key naming <see cref="Source"/> names, or null when it names none.</summary>
    public EfficientNetKeyNaming? Naming(string path) => Source switch
    {
        null => null,
        "torchvision" => EfficientNetKeyNaming.Torchvision,
        "timm" => EfficientNetKeyNaming.Timm,
        _ => throw new CheckpointException($"{path}: source '{Source}' is neither 'torchvision' nor 'timm'"),
    };

    public static EfficientNetConfig Load(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"{path}: file not found");
        EfficientNetConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<EfficientNetConfig>(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{path}: not a valid EfficientNet config.json: {e.Message}", e);
        }
        if (config is null) throw new CheckpointException($"{path}: config.json is empty");
        if (config.ModelType != "efficientnet_b0")
            throw new CheckpointException($"{path}: model_type '{config.ModelType}' is not 'efficientnet_b0'");
        if (config.NumClasses is <= 0) throw new CheckpointException($"{path}: num_classes must be positive, got {config.NumClasses}");
        config.Naming(path);
        return config;
    }
}
