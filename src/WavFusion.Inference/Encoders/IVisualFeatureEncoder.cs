using static TorchSharp.torch;

namespace WavFusion.Inference.Encoders;

/// <summary>A frozen image encoder (EfficientNet-B0): one pooled vector per face frame.</summary>
public interface IVisualFeatureEncoder : IDisposable
{
    /// <summary>Identifies the configuration and weights; part of the feature-cache key.</summary>
    string ModelHash { get; }

    /// <summary>Pooled width: the fusion model's <c>visual_dim</c>.</summary>
    int Dim { get; }

    /// <summary>The square frame size the network takes; frames of another size are resized to it first.</summary>
    int InputSize { get; }

    /// <summary>Frames are row-major RGB, <paramref name="size"/>×<paramref name="size"/>; returns (frames, <see cref="Dim"/>) float32 on the CPU.</summary>
    Tensor Encode(IReadOnlyList<byte[]> rgbFrames, int size);
}
