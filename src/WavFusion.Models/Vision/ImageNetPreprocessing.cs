using TorchSharp;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Vision;

/// <summary>Channel order of interleaved 8-bit pixels: OpenCV gives BGR, most other decoders RGB.</summary>
public enum ChannelOrder
{
    Rgb,
    Bgr,
}

/// <summary>
/// torchvision's ImageNet classification transform for EfficientNet-B0 (<c>ImageClassification(crop_size=224,
/// resize_size=256, interpolation=BICUBIC)</c>): resize the shorter side to 256, centre-crop 224, scale to
/// [0, 1], normalise with the ImageNet mean and std. Also the normalise-only path for face crops that
/// are already cut to size.
/// </summary>
/// <remarks>
/// The resize is libtorch's antialiased bicubic (<c>interpolate(..., antialias: true)</c>), which is what
/// torchvision's tensor path runs (antialias on by default since torchvision 0.17) and is designed to match
/// Pillow's bicubic filter used when the weights were trained from PIL images; the two may still differ by
/// about one 8-bit level at some pixels. As for a uint8 tensor in torchvision, the resized image is
/// clamped to [0, 255] and rounded before scaling.
/// </remarks>
public static class ImageNetPreprocessing
{
    public const int ResizeSize = 256;
    public const int CropSize = 224;

    private static readonly float[] MeanValues = [0.485f, 0.456f, 0.406f];
    private static readonly float[] StdValues = [0.229f, 0.224f, 0.225f];
    /// <summary>255, the 8-bit pixel maximum (process-wide and held: see WavFusion.Core.Tensors.Scalars).</summary>
    public static readonly Scalar ByteMax = 255L.ToScalar();

    public static IReadOnlyList<float> Mean => MeanValues;
    public static IReadOnlyList<float> Std => StdValues;

    /// <summary>(x − mean) / std per channel, for RGB images (3, H, W) or (B, 3, H, W) with values in [0, 1].</summary>
    public static Tensor Normalize(Tensor image)
    {
        int channelDim = image.dim() switch
        {
            3 => 0,
            4 => 1,
            _ => throw new ArgumentException($"image must be (3, H, W) or (B, 3, H, W), got [{string.Join(", ", image.shape)}]", nameof(image)),
        };
        if (image.shape[channelDim] != 3)
            throw new ArgumentException($"image must have 3 channels in dimension {channelDim}, got [{string.Join(", ", image.shape)}]", nameof(image));
        if (!image.is_floating_point())
            throw new ArgumentException($"image must be floating point in [0, 1], got {image.dtype}", nameof(image));
        using var scope = torch.NewDisposeScope();
        long[] shape = channelDim == 0 ? [3, 1, 1] : [1, 3, 1, 1];
        var mean = torch.tensor(MeanValues, image.dtype, image.device).view(shape);
        var std = torch.tensor(StdValues, image.dtype, image.device).view(shape);
        return (image - mean).div_(std).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Normalise-only path for a face crop that is already the network's input size (224 × 224 on the live
    /// path): interleaved 8-bit pixels (H, W, 3) → normalised RGB (3, H, W) float32.
    /// </summary>
    /// <param name="rowStride">Bytes from one row to the next (an OpenCV Mat's step); 0 means width × 3.</param>
    public static Tensor NormalizeCrop(ReadOnlySpan<byte> pixels, int height, int width, ChannelOrder order, int rowStride = 0)
    {
        using var scope = torch.NewDisposeScope();
        var rgb = ToRgbTensor(pixels, height, width, order, rowStride).to(ScalarType.Float32).div_(ByteMax);
        return Normalize(rgb).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The full classification transform for an arbitrary image: interleaved 8-bit pixels (H, W, 3) →
    /// normalised RGB (3, 224, 224) float32.
    /// </summary>
    /// <param name="rowStride">Bytes from one row to the next (an OpenCV Mat's step); 0 means width × 3.</param>
    public static Tensor Classification(ReadOnlySpan<byte> pixels, int height, int width, ChannelOrder order, int rowStride = 0)
    {
        using var scope = torch.NewDisposeScope();
        var rgb = ToRgbTensor(pixels, height, width, order, rowStride).to(ScalarType.Float32);
        var (h, w) = ResizedSize(height, width);
        if (h != height || w != width)
        {
            rgb = nn.functional.interpolate(rgb.unsqueeze(0), [h, w], mode: InterpolationMode.Bicubic,
                align_corners: false, antialias: true).squeeze(0);
            rgb = rgb.clamp_(Zero, ByteMax).round_();
        }
        long top = CropOffset(h, CropSize), left = CropOffset(w, CropSize);
        var cropped = rgb[.., (int)top..(int)(top + CropSize), (int)left..(int)(left + CropSize)];
        return Normalize(cropped.div(ByteMax)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Size after resizing the shorter side to <paramref name="shorter"/> with the aspect ratio kept; the
    /// longer side is truncated, as torchvision does (<c>int(256 * long / short)</c>).
    /// </summary>
    public static (int Height, int Width) ResizedSize(int height, int width, int shorter = ResizeSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        return height <= width
            ? (shorter, (int)((long)shorter * width / height))
            : ((int)((long)shorter * height / width), shorter);
    }

    /// <summary>torchvision's centre-crop start: <c>int(round((size − crop) / 2))</c>, halves rounded to even.</summary>
    public static long CropOffset(long size, long crop)
    {
        if (size < crop) throw new ArgumentException($"cannot crop {crop} pixels from an image side of {size}", nameof(size));
        return (long)Math.Round((size - crop) / 2.0, MidpointRounding.ToEven);
    }

    /// <summary>(H, W, 3) interleaved bytes → (3, H, W) uint8 RGB.</summary>
    private static Tensor ToRgbTensor(ReadOnlySpan<byte> pixels, int height, int width, ChannelOrder order, int rowStride)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        int rowBytes = checked(width * 3);
        int stride = rowStride == 0 ? rowBytes : rowStride;
        if (stride < rowBytes)
            throw new ArgumentException($"row stride {stride} is shorter than a row of {width} × 3 bytes", nameof(rowStride));
        long needed = (long)stride * (height - 1) + rowBytes;
        if (pixels.Length < needed)
            throw new ArgumentException($"{pixels.Length} bytes cannot hold a {height} × {width} × 3 image with row stride {stride} ({needed} needed)", nameof(pixels));

        var hwc = torch.empty([height, width, 3], ScalarType.Byte);
        // Copied straight into the tensor's storage; rows are packed when the source has padding.
        var storage = hwc.bytes;
        if (stride == rowBytes) pixels[..storage.Length].CopyTo(storage);
        else for (int y = 0; y < height; y++) pixels.Slice(y * stride, rowBytes).CopyTo(storage.Slice(y * rowBytes, rowBytes));
        var chw = hwc.permute(2, 0, 1);
        return order == ChannelOrder.Bgr ? chw.flip(0) : chw;
    }
}
