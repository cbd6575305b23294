namespace WavFusion.Training.Data;

/// <summary>Frames stored side by side in one PNG (<see cref="VideoFormat.FrameStrip"/>).</summary>
public static class FrameStrip
{
    /// <summary>Writes frames (each row-major RGB, <paramref name="size"/>×<paramref name="size"/>) left to right.</summary>
    public static void Write(string path, IReadOnlyList<byte[]> frames, int size)
    {
        ArgumentNullException.ThrowIfNull(frames);
        if (frames.Count == 0) throw new ArgumentException($"{path}: no frames to write", nameof(frames));
        int width = size * frames.Count;
        var strip = new byte[width * size * 3];
        for (int f = 0; f < frames.Count; f++)
        {
            if (frames[f].Length != size * size * 3) throw new ArgumentException($"{path}: frame {f} has {frames[f].Length} bytes, not {size}x{size} RGB", nameof(frames));
            for (int y = 0; y < size; y++)
                frames[f].AsSpan(y * size * 3, size * 3).CopyTo(strip.AsSpan((y * width + f * size) * 3));
        }
        PngImage.WriteRgb(path, strip, width, size);
    }

    /// <summary>The frames of a strip, each row-major RGB of <paramref name="frameWidth"/>×height.</summary>
    public static IReadOnlyList<byte[]> Read(string path, int frameWidth)
    {
        var (rgb, width, height) = PngImage.ReadRgb(path);
        if (frameWidth <= 0 || width % frameWidth != 0)
            throw new InvalidDataException($"{path}: strip is {width} pixels wide, not a whole number of {frameWidth}-pixel frames");
        var frames = new byte[width / frameWidth][];
        for (int f = 0; f < frames.Length; f++)
        {
            frames[f] = new byte[frameWidth * height * 3];
            for (int y = 0; y < height; y++)
                rgb.AsSpan((y * width + f * frameWidth) * 3, frameWidth * 3).CopyTo(frames[f].AsSpan(y * frameWidth * 3));
        }
        return frames;
    }
}
