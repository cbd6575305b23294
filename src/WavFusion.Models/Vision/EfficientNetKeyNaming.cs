namespace WavFusion.Models.Vision;

/// <summary>The key naming an EfficientNet-B0 checkpoint was saved with.</summary>
public enum EfficientNetKeyNaming
{
    /// <summary>torchvision <c>efficientnet_b0</c>: <c>features.*</c>, <c>classifier.1.*</c> (our module's own names).</summary>
    Torchvision,

    /// <summary>timm <c>efficientnet_b0</c>: <c>conv_stem</c>, <c>bn1</c>, <c>blocks.S.I.*</c>, <c>conv_head</c>, <c>bn2</c>, <c>classifier</c>.</summary>
    Timm,
}
