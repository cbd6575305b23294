using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using WavFusion.Training.Data;

namespace WavFusion.Training.Features;

/// <summary>
/// The face frames of an utterance: the [start, end) cut of its video at the sampling rate, cropped to the
/// speaker's half of a two-speaker frame, scaled to Size×Size RGB, evenly thinned to at most MaxFrames.
/// Containers are decoded by ffmpeg; frame strips (SynthEmo) are read directly.
/// </summary>
public static class VideoFrames
{
    public static IReadOnlyList<byte[]> Read(VideoSource source, VideoSampling sampling)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(sampling);
        if (!(sampling.FramesPerSecond > 0) || double.IsInfinity(sampling.FramesPerSecond))
            throw new ArgumentException($"frames_per_second must be positive; got {sampling.FramesPerSecond}", nameof(sampling));
        if (sampling.Size <= 0) throw new ArgumentException($"size must be positive; got {sampling.Size}", nameof(sampling));
        if (sampling.MaxFrames <= 0) throw new ArgumentException($"max_frames must be positive; got {sampling.MaxFrames}", nameof(sampling));
        if (!File.Exists(source.Path)) throw new FileNotFoundException($"{source.Path}: video file not found", source.Path);
        if (source is { StartSeconds: { } s, EndSeconds: { } e } && !(e > s))
            throw new InvalidDataException($"{source.Path}: the cut [{s}, {e}) s is empty");

        var frames = source.Format switch
        {
            VideoFormat.Container => Decode(source, sampling),
            VideoFormat.FrameStrip => FromStrip(source, sampling),
            _ => throw new ArgumentOutOfRangeException(nameof(source), source.Format, $"{source.Path}: unknown video format"),
        };
        if (frames.Count == 0)
            throw new InvalidDataException($"{source.Path}: no frames in [{source.StartSeconds ?? 0}, {source.EndSeconds?.ToString(CultureInfo.InvariantCulture) ?? "end"}) s");
        return Thin(frames, sampling.MaxFrames);
    }

    /// <summary>Indices of <paramref name="keep"/> of <paramref name="count"/> frames, evenly spread (the middle of each of keep equal spans).</summary>
    public static int[] EvenIndices(int count, int keep) =>
        count <= keep
            ? Enumerable.Range(0, count).ToArray()
            : Enumerable.Range(0, keep).Select(i => (int)((i + 0.5) * count / keep)).ToArray();

    private static IReadOnlyList<byte[]> Thin(IReadOnlyList<byte[]> frames, int maxFrames) =>
        frames.Count <= maxFrames ? frames : EvenIndices(frames.Count, maxFrames).Select(i => frames[i]).ToArray();

    private static List<byte[]> Decode(VideoSource source, VideoSampling sampling)
    {
        var ci = CultureInfo.InvariantCulture;
        var psi = new ProcessStartInfo("ffmpeg") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-nostdin", "-hide_banner", "-loglevel", "error" }) psi.ArgumentList.Add(a);
        // Input seeking: ffmpeg decodes from the key frame before start and drops what precedes it, so the cut is exact.
        if (source.StartSeconds is { } start and > 0) { psi.ArgumentList.Add("-ss"); psi.ArgumentList.Add(start.ToString("R", ci)); }
        psi.ArgumentList.Add("-i");
        psi.ArgumentList.Add(source.Path);
        if (source.DurationSeconds is { } duration) { psi.ArgumentList.Add("-t"); psi.ArgumentList.Add(duration.ToString("R", ci)); }
        else if (source.EndSeconds is { } end) { psi.ArgumentList.Add("-to"); psi.ArgumentList.Add(end.ToString("R", ci)); }
        string crop = source.Region switch
        {
            FaceRegion.LeftHalf => "crop=iw/2:ih:0:0,",
            FaceRegion.RightHalf => "crop=iw/2:ih:iw/2:0,",
            _ => "",
        };
        string filters = $"fps={sampling.FramesPerSecond.ToString("R", ci)},{crop}scale={sampling.Size}:{sampling.Size}:flags=bilinear";
        foreach (var a in new[] { "-an", "-vf", filters, "-pix_fmt", "rgb24", "-f", "rawvideo", "-" }) psi.ArgumentList.Add(a);

        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException($"{source.Path}: ffmpeg did not start");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"{source.Path}: decoding video needs ffmpeg on PATH (scripts/install-system-deps.sh installs it): {e.Message}", e);
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            int frameBytes = sampling.Size * sampling.Size * 3;
            var frames = new List<byte[]>();
            var stdout = process.StandardOutput.BaseStream;
            while (true)
            {
                var frame = new byte[frameBytes];
                int got = stdout.ReadAtLeast(frame, frameBytes, throwOnEndOfStream: false);
                if (got < frameBytes) break;
                frames.Add(frame);
            }
            process.WaitForExit();
            if (process.ExitCode != 0) throw new InvalidDataException($"{source.Path}: ffmpeg could not decode the video: {stderr.Result.Trim()}");
            return frames;
        }
    }

    private static List<byte[]> FromStrip(VideoSource source, VideoSampling sampling)
    {
        int width = source.FrameWidth ?? throw new ArgumentException($"{source.Path}: a frame strip needs its frame width", nameof(source));
        double stripFps = source.FramesPerSecond is { } f && f > 0
            ? f
            : throw new ArgumentException($"{source.Path}: a frame strip needs a positive frames-per-second; got {source.FramesPerSecond}", nameof(source));
        var strip = FrameStrip.Read(source.Path, width);
        int height = strip[0].Length / (width * 3);
        // Strip frame i is shown during [i, i + 1) / fps; sample j of the cut is the one shown at start + j / rate.
        double start = source.StartSeconds ?? 0, end = source.EndSeconds ?? strip.Count / stripFps;
        int count = (int)Math.Ceiling((end - start) * sampling.FramesPerSecond - 1e-9);
        var (x0, cropWidth) = source.Region switch
        {
            FaceRegion.LeftHalf => (0, width / 2),
            FaceRegion.RightHalf => (width / 2, width - width / 2),
            _ => (0, width),
        };
        var frames = new List<byte[]>(Math.Max(count, 0));
        for (int j = 0; j < count; j++)
        {
            int index = (int)Math.Floor((start + j / sampling.FramesPerSecond) * stripFps + 1e-9);
            if (index >= strip.Count) break;
            frames.Add(Resize(strip[index], width, height, x0, cropWidth, sampling.Size));
        }
        return frames;
    }

    /// <summary>
    /// Bilinear resize of columns [x0, x0 + cropWidth) of an RGB image to size×size, sampling at pixel centres
    /// (align_corners = false), as ffmpeg's and torch's bilinear scalers do.
    /// </summary>
    private static byte[] Resize(byte[] rgb, int width, int height, int x0, int cropWidth, int size)
    {
        var result = new byte[size * size * 3];
        if (cropWidth == size && height == size && x0 == 0 && width == size)
        {
            rgb.CopyTo(result, 0);
            return result;
        }
        double sx = (double)cropWidth / size, sy = (double)height / size;
        for (int y = 0; y < size; y++)
        {
            double fy = Math.Clamp((y + 0.5) * sy - 0.5, 0, height - 1);
            int y1 = (int)fy, y2 = Math.Min(y1 + 1, height - 1);
            double wy = fy - y1;
            for (int x = 0; x < size; x++)
            {
                double fx = Math.Clamp((x + 0.5) * sx - 0.5, 0, cropWidth - 1);
                int xa = (int)fx, xb = Math.Min(xa + 1, cropWidth - 1);
                double wx = fx - xa;
                for (int c = 0; c < 3; c++)
                {
                    double top = rgb[(y1 * width + x0 + xa) * 3 + c] * (1 - wx) + rgb[(y1 * width + x0 + xb) * 3 + c] * wx;
                    double bottom = rgb[(y2 * width + x0 + xa) * 3 + c] * (1 - wx) + rgb[(y2 * width + x0 + xb) * 3 + c] * wx;
                    result[(y * size + x) * 3 + c] = (byte)Math.Round(top * (1 - wy) + bottom * wy);
                }
            }
        }
        return result;
    }
}
