namespace WavFusion.Media;

/// <summary>Byte order of the three 8-bit channels of a pixel.</summary>
public enum PixelOrder
{
    /// <summary>Red, green, blue (decoders, image files).</summary>
    Rgb,
    /// <summary>Blue, green, red (OpenCV's native order).</summary>
    Bgr,
}

/// <summary>
/// One decoded video frame: interleaved 8-bit pixels (<see cref="Height"/> rows of <see cref="RowStride"/>
/// bytes, three channels in <see cref="Order"/>) and the stream time at which it was captured.
/// </summary>
public sealed record VideoFrame(byte[] Pixels, int Width, int Height, int RowStride, PixelOrder Order, TimeSpan StreamTime)
{
    /// <summary>A tightly packed frame (row stride = 3 × width).</summary>
    public static VideoFrame Packed(byte[] pixels, int width, int height, PixelOrder order, TimeSpan streamTime)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (width <= 0 || height <= 0) throw new ArgumentOutOfRangeException(nameof(width), $"frame size {width}x{height} must be positive");
        if (pixels.Length != checked(width * height * 3))
            throw new ArgumentException($"a packed {width}x{height} frame has {width * height * 3} bytes, got {pixels.Length}", nameof(pixels));
        return new VideoFrame(pixels, width, height, width * 3, order, streamTime);
    }
}
