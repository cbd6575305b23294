using WavFusion.Tests.Datasets;
using WavFusion.Tests.Infrastructure;
using WavFusion.Training.Data;
using WavFusion.Training.Features;

namespace WavFusion.Tests.Features;

public sealed class VideoFramesTests
{
    private static readonly byte[] Red = [255, 0, 0], Blue = [0, 0, 255], Green = [0, 255, 0];

    /// <summary>A lossless clip (FFV1): 1 s with the left half red and the right half blue, then 1 s all green, at 10 fps.</summary>
    private static string TwoSpeakerClip(TempDir dir)
    {
        string path = dir.File("dialog.mkv");
        var r = ProcessRunner.Run("ffmpeg", ["-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "color=c=red:s=32x32:r=10:d=1",
            "-f", "lavfi", "-i", "color=c=blue:s=32x32:r=10:d=1",
            "-f", "lavfi", "-i", "color=c=0x00FF00:s=64x32:r=10:d=1",
            "-filter_complex", "[0][1]hstack[halves];[halves][2]concat=n=2:v=1[v]", "-map", "[v]",
            "-c:v", "ffv1", "-pix_fmt", "bgr0", path]);
        Assert.True(r.ExitCode == 0, $"ffmpeg failed making {path}: {r.StdErr}");
        return path;
    }

    private static void AssertColour(byte[] frame, int size, byte[] colour, string what)
    {
        Assert.Equal(size * size * 3, frame.Length);
        for (int p = 0; p < size * size; p++)
            for (int c = 0; c < 3; c++)
                Assert.True(Math.Abs(frame[p * 3 + c] - colour[c]) <= 8, $"{what}: pixel {p} channel {c} is {frame[p * 3 + c]}, expected about {colour[c]}");
    }

    [SkippableFact]
    public void Container_cut_is_decoded_at_the_sampling_rate_and_cropped_to_the_speakers_half()
    {
        Skip.IfNot(MediaFixtures.HaveFfmpeg, MediaFixtures.NoFfmpeg);
        using var dir = new TempDir();
        string clip = TwoSpeakerClip(dir);
        var sampling = new VideoSampling { FramesPerSecond = 5, Size = 8, MaxFrames = 64 };

        var left = VideoFrames.Read(new VideoSource(clip, 0.0, 1.0, FaceRegion.LeftHalf), sampling);
        Assert.Equal(5, left.Count);
        Assert.All(left, f => AssertColour(f, 8, Red, "left half of the first second"));
        var right = VideoFrames.Read(new VideoSource(clip, 0.0, 1.0, FaceRegion.RightHalf), sampling);
        Assert.Equal(5, right.Count);
        Assert.All(right, f => AssertColour(f, 8, Blue, "right half of the first second"));

        // Cut inside the second second: only green, 0.6 s at 5 fps = 3 frames.
        var later = VideoFrames.Read(new VideoSource(clip, 1.2, 1.8, FaceRegion.RightHalf), sampling);
        Assert.Equal(3, later.Count);
        Assert.All(later, f => AssertColour(f, 8, Green, "the cut [1.2, 1.8) s"));

        // The whole frame: red on the left, blue on the right of the scaled image.
        var full = VideoFrames.Read(new VideoSource(clip, 0.0, 0.4), sampling with { Size = 16 });
        Assert.Equal(2, full.Count);
        Assert.True(full[0][0] > 200 && full[0][2] < 50, "top-left pixel of the full frame is red");
        Assert.True(full[0][15 * 3 + 2] > 200 && full[0][15 * 3] < 50, "top-right pixel of the full frame is blue");

        var thinned = VideoFrames.Read(new VideoSource(clip, 0.0, 2.0), sampling with { MaxFrames = 4 });
        Assert.Equal(4, thinned.Count);
        // Of 10 frames, kept 1, 3, 6, 8: two red/blue, then two green.
        Assert.Equal([1, 3, 6, 8], VideoFrames.EvenIndices(10, 4));
        AssertColour(thinned[3], 8, Green, "last kept frame");
    }

    [SkippableFact]
    public void Broken_or_missing_containers_and_empty_cuts_fail_naming_the_file()
    {
        Skip.IfNot(MediaFixtures.HaveFfmpeg, MediaFixtures.NoFfmpeg);
        using var dir = new TempDir();
        var sampling = new VideoSampling { Size = 8 };
        string bogus = dir.File("bogus.mp4");
        File.WriteAllText(bogus, "not a video");
        Assert.Contains(bogus, Assert.Throws<InvalidDataException>(() => VideoFrames.Read(new VideoSource(bogus), sampling)).Message, StringComparison.Ordinal);
        string missing = dir.File("missing.avi");
        Assert.Contains(missing, Assert.Throws<FileNotFoundException>(() => VideoFrames.Read(new VideoSource(missing), sampling)).Message, StringComparison.Ordinal);
        string clip = TwoSpeakerClip(dir);
        Assert.Contains(clip, Assert.Throws<InvalidDataException>(() => VideoFrames.Read(new VideoSource(clip, 1.0, 1.0), sampling)).Message, StringComparison.Ordinal);
        Assert.Contains("no frames", Assert.Throws<InvalidDataException>(() => VideoFrames.Read(new VideoSource(clip, 5.0, 6.0), sampling)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Frame_strip_is_resampled_in_time_cropped_and_resized()
    {
        using var dir = new TempDir();
        // Four 8×8 frames at 2 fps (2 s); frame i has left half (i·40, 0, 0) and right half (0, 0, 60 + i·40).
        var frames = Enumerable.Range(0, 4).Select(i =>
        {
            var f = new byte[8 * 8 * 3];
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 8; x++)
                {
                    int p = (y * 8 + x) * 3;
                    if (x < 4) f[p] = (byte)(i * 40);
                    else f[p + 2] = (byte)(60 + i * 40);
                }
            return f;
        }).ToList();
        string strip = dir.File("strip.png");
        FrameStrip.Write(strip, frames, 8);
        var source = new VideoSource(strip, 0.5, 1.5, FaceRegion.RightHalf, VideoFormat.FrameStrip, 8, 2.0);

        // 4 fps over [0.5, 1.5): times 0.5, 0.75, 1.0, 1.25 → strip frames 1, 1, 2, 2.
        var read = VideoFrames.Read(source, new VideoSampling { FramesPerSecond = 4, Size = 6 });
        Assert.Equal(4, read.Count);
        byte[][] expected = [[0, 0, 100], [0, 0, 100], [0, 0, 140], [0, 0, 140]];
        for (int j = 0; j < 4; j++) AssertColour(read[j], 6, expected[j], $"sample {j}");

        var left = VideoFrames.Read(source with { Region = FaceRegion.LeftHalf, StartSeconds = 0, EndSeconds = null }, new VideoSampling { FramesPerSecond = 2, Size = 4 });
        Assert.Equal(4, left.Count);
        for (int i = 0; i < 4; i++) AssertColour(left[i], 4, [(byte)(i * 40), 0, 0], $"left half of frame {i}");

        var thinned = VideoFrames.Read(source, new VideoSampling { FramesPerSecond = 4, Size = 6, MaxFrames = 2 });
        Assert.Equal(2, thinned.Count);
        AssertColour(thinned[0], 6, [0, 0, 100], "first kept");
        AssertColour(thinned[1], 6, [0, 0, 140], "second kept");

        Assert.Contains(strip, Assert.Throws<ArgumentException>(() => VideoFrames.Read(source with { FrameWidth = null }, new VideoSampling())).Message, StringComparison.Ordinal);
    }
}
