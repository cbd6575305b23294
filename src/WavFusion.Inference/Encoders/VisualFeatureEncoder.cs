using TorchSharp;
using WavFusion.Models.Vision;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Inference.Encoders;

/// <summary>A loaded EfficientNet, frozen, pooling ImageNet-normalised frames in chunks.</summary>
internal sealed class VisualFeatureEncoder : IVisualFeatureEncoder
{
    /// <summary>Frames per forward pass: bounds the activations of a long clip (B0 at 224² needs ~40 MB a frame).</summary>
    public const int ChunkFrames = 16;

    private readonly EfficientNetB0 _model;
    private readonly Device _device;
    private readonly int _inputSize;

    public VisualFeatureEncoder(EfficientNetB0 model, Device device, int inputSize, string modelHash)
    {
        _model = model;
        _device = device;
        _inputSize = inputSize;
        ModelHash = modelHash;
        foreach (var p in _model.parameters()) p.requires_grad = false;
        _model.eval();
    }

    public string ModelHash { get; }

    public int Dim => _model.HeadChannels;

    public int InputSize => _inputSize;

    public Tensor Encode(IReadOnlyList<byte[]> rgbFrames, int size)
    {
        ArgumentNullException.ThrowIfNull(rgbFrames);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        for (int i = 0; i < rgbFrames.Count; i++)
            if (rgbFrames[i] is null || rgbFrames[i].Length != size * size * 3)
                throw new ArgumentException($"frame {i} has {rgbFrames[i]?.Length ?? 0} bytes, not {size}x{size} RGB ({size * size * 3})", nameof(rgbFrames));
        if (rgbFrames.Count == 0) return torch.zeros(0, Dim, dtype: ScalarType.Float32);

        using var scope = torch.NewDisposeScope();
        var pooled = new List<Tensor>();
        for (int start = 0; start < rgbFrames.Count; start += ChunkFrames)
        {
            using var chunkScope = torch.NewDisposeScope();
            int count = Math.Min(ChunkFrames, rgbFrames.Count - start);
            var bytes = new byte[count * size * size * 3];
            for (int i = 0; i < count; i++) rgbFrames[start + i].CopyTo(bytes, i * size * size * 3);
            var pixels = torch.tensor(bytes, [count, size, size, 3]).permute(0, 3, 1, 2).to(ScalarType.Float32);
            if (size != _inputSize)
            {
                pixels = nn.functional.interpolate(pixels, [_inputSize, _inputSize], mode: InterpolationMode.Bilinear,
                    align_corners: false, antialias: true).clamp_(Zero, ImageNetPreprocessing.ByteMax);
            }
            var normalized = ImageNetPreprocessing.Normalize(pixels.div_(ImageNetPreprocessing.ByteMax)).to(_device);
            pooled.Add(_model.PooledInference(normalized).to(ScalarType.Float32).cpu().MoveToOuterDisposeScope());
        }
        return torch.cat(pooled, 0).contiguous().MoveToOuterDisposeScope();
    }

    public void Dispose() => _model.Dispose();
}
