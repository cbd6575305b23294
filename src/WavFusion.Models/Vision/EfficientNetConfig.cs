using System.Text.Json;
using System.Text.Json.Serialization;
using WavFusion.Core.Checkpoints;

namespace WavFusion.Models.Vision;

/// <summary>
/// The short descriptor beside an EfficientNet-B0 checkpoint (<c>config.json</c>): which library's key
/// names the weights use, the classifier width, the image size the weights were exercised at and, for a
/// scaled-down network of the same layout, torchvision's width and depth multipliers (absent = 1.0 = B0).
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

    /// <summary>Channel multiplier (<see cref="EfficientNetStage.Scaled"/>); null = 1.0.</summary>
    [JsonPropertyName("width_mult")]
    public double? WidthMult { get; init; }

    /// <summary>Block-count multiplier (<see cref="EfficientNetStage.Scaled"/>); null = 1.0.</summary>
    [JsonPropertyName("depth_mult")]
    public double? DepthMult { get; init; }

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
        if (config.ImageSize is <= 0) throw new CheckpointException($"{path}: image_size must be positive, got {config.ImageSize}");
        if (config.WidthMult is { } w && !(w > 0 && double.IsFinite(w))) throw new CheckpointException($"{path}: width_mult must be positive, got {w}");
        if (config.DepthMult is { } d && !(d > 0 && double.IsFinite(d))) throw new CheckpointException($"{path}: depth_mult must be positive, got {d}");
        config.Naming(path);
        return config;
    }
}
