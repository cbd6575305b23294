using System.Threading.Channels;
using WavFusion.Inference;
using WavFusion.Live.Pipeline;
using WavFusion.Live.Stages;
using WavFusion.Media;
using WavFusion.Tests.Infrastructure;
using WavFusion.Training.SynthEmo;
using Xunit.Abstractions;

namespace WavFusion.Tests.Live;

/// <summary>Face detection, crops and the face stage on SynthEmo's rendered faces, the faces the demo model was trained on.</summary>
public sealed class FaceStageTests(ITestOutputHelper output)
{
    private const int FrameWidth = 640;
    private const int FrameHeight = 480;
    private const int FaceSize = 224;
    private static readonly (int X, int Y) FaceAt = (260, 140);

    private static string DemoModel => Path.Combine(RepoPaths.Root, "models", "wavfusion-demo");

    /// <summary>A 640×480 grey RGB frame with a SynthEmo face (224 px) pasted at <see cref="FaceAt"/>; speakers 0 and 4 are the ones Haar finds.</summary>
    private static VideoFrame FaceFrame(TimeSpan time, int speaker = 0)
    {
        var pixels = Blank();
        var face = FaceRenderer.Render(FaceSize, new FacePose(0.6, 0, 1, 0.2, 0, 0, speaker));
        for (int y = 0; y < FaceSize; y++)
            Array.Copy(face, y * FaceSize * 3, pixels, ((FaceAt.Y + y) * FrameWidth + FaceAt.X) * 3, FaceSize * 3);
        return VideoFrame.Packed(pixels, FrameWidth, FrameHeight, PixelOrder.Rgb, time);
    }

    private static VideoFrame EmptyFrame(TimeSpan time) => VideoFrame.Packed(Blank(), FrameWidth, FrameHeight, PixelOrder.Rgb, time);

    private static byte[] Blank() => Enumerable.Repeat((byte)128, FrameWidth * FrameHeight * 3).ToArray();

    private static FaceDetector Haar()
    {
        OpenCvNative.SkipUnlessLoaded();
        var options = new FaceOptions();
        Skip.IfNot(File.Exists(options.HaarCascade), $"{options.HaarCascade} not present (scripts/install-system-deps.sh installs opencv-data)");
        return FaceDetector.Create(options);
    }

    [SkippableFact]
    public void Haar_finds_which_synthemo_faces()
    {
        using var detector = Haar();
        var found = Enumerable.Range(0, 5).Where(s => detector.DetectLargest(FaceFrame(TimeSpan.Zero, s)) is not null).ToList();
        output.WriteLine($"Haar (frontalface_default) finds SynthEmo speakers [{string.Join(", ", found)}] of 0-4 at {FaceSize} px");
        Assert.Contains(0, found);
        Assert.Contains(4, found);
    }

    [SkippableFact]
    public void The_largest_face_is_found_where_it_was_drawn_and_cropped_square_with_its_margin()
    {
        using var detector = Haar();
        var frame = FaceFrame(TimeSpan.Zero);

        var box = detector.DetectLargest(frame);
        var crop = detector.CropLargest(frame, 112);

        Assert.NotNull(box);
        output.WriteLine($"face drawn at ({FaceAt.X}, {FaceAt.Y}) {FaceSize}², found {box}");
        Assert.InRange(box.Value.X + box.Value.Width / 2, FaceAt.X + FaceSize / 2 - 20, FaceAt.X + FaceSize / 2 + 20);
        Assert.InRange(box.Value.Y + box.Value.Height / 2, FaceAt.Y + FaceSize / 2 - 25, FaceAt.Y + FaceSize / 2 + 25);
        Assert.NotNull(crop);
        Assert.Equal(112 * 112 * 3, crop.Length);
        // The crop's centre is skin (the face), its corner the grey background around it.
        int centre = (56 * 112 + 56) * 3;
        Assert.Equal((236, 196, 160), (crop[centre], crop[centre + 1], crop[centre + 2]));
        Assert.Equal((128, 128, 128), (crop[0], crop[1], crop[2]));
    }

    [SkippableFact]
    public void A_stream_s_face_is_tracked_near_its_last_box_and_searched_whole_when_lost_and_every_fifth_frame()
    {
        using var detector = Haar();
        using var stateless = Haar();
        var frames = Enumerable.Range(0, 7).Select(i => FaceFrame(TimeSpan.FromMilliseconds(200 * i))).ToList();
        var crops = frames.Select(f => detector.CropLargest(f, 112)).ToList();
        output.WriteLine($"{detector.FullSearches} whole-frame searches, {detector.TrackedFrames} tracked");
        // Frame 0 is searched whole, 1-4 tracked, 5 whole again (every fifth), 6 tracked.
        Assert.Equal(2, detector.FullSearches);
        Assert.Equal(5, detector.TrackedFrames);
        Assert.All(crops, c => Assert.NotNull(c));
        // A tracked crop is the same face: its centre is skin and it matches a whole-frame crop of the frame closely.
        var whole = stateless.CropLargest(frames[1], 112)!;
        int centre = (56 * 112 + 56) * 3;
        Assert.Equal((236, 196, 160), (crops[1]![centre], crops[1]![centre + 1], crops[1]![centre + 2]));
        double meanDifference = crops[1]!.Zip(whole, (a, b) => Math.Abs(a - b)).Average();
        Assert.True(meanDifference < 12, $"tracked and whole-frame crops differ by {meanDifference:F1} per byte on average");

        // The face leaves: the tracker searches the whole frame and finds nothing; it comes back: found again, whole.
        Assert.Null(detector.CropLargest(EmptyFrame(TimeSpan.FromSeconds(2)), 112));
        Assert.Equal(3, detector.FullSearches);
        Assert.NotNull(detector.CropLargest(FaceFrame(TimeSpan.FromSeconds(2.2)), 112));
        Assert.Equal(4, detector.FullSearches);
    }

    [SkippableFact]
    public void A_frame_without_a_face_gives_no_crop()
    {
        using var detector = Haar();
        Assert.Null(detector.CropLargest(EmptyFrame(TimeSpan.Zero), 112));
    }

    [SkippableFact]
    public void A_missing_cascade_is_an_error_naming_the_file()
    {
        OpenCvNative.SkipUnlessLoaded();
        var error = Assert.Throws<FileNotFoundException>(() => FaceDetector.Create(new FaceOptions { HaarCascade = "/nowhere/cascade.xml" }));
        Assert.StartsWith("/nowhere/cascade.xml: Haar cascade not found", error.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task The_face_stage_adds_demo_model_features_for_faces_at_its_rate_and_nothing_for_empty_frames()
    {
        using var detector = Haar();
        using var bundle = ModelBundle.Load(DemoModel);
        var encoder = bundle.VisualEncoder!;
        var stage = new FaceStage(detector, encoder, new FaceOptions { Fps = 5 });
        var timeline = new FaceTimeline();
        var frames = Channel.CreateUnbounded<VideoFrame>();
        // 2 s at 25 fps: faces in the first second, an empty scene in the second.
        for (int i = 0; i < 50; i++)
        {
            var time = TimeSpan.FromMilliseconds(i * 40);
            frames.Writer.TryWrite(i < 25 ? FaceFrame(time) : EmptyFrame(time));
        }
        frames.Writer.Complete();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await stage.RunAsync(frames.Reader, timeline, CancellationToken.None);

        var c = stage.Counters;
        output.WriteLine($"seen {c.FramesSeen}, analysed {c.Analysed}, faces {c.FacesFound}, no face {c.NoFace}, encoder calls {c.EncoderCalls}, {clock.ElapsedMilliseconds} ms");
        Assert.Equal((50L, 10L, 5L, 5L), (c.FramesSeen, c.Analysed, c.FacesFound, c.NoFace));
        Assert.InRange(c.EncoderCalls, 2, 5);
        var faces = timeline.Between(TimeSpan.Zero, TimeSpan.FromSeconds(2));
        Assert.Equal([0, 200, 400, 600, 800], faces.Select(f => (int)f.StreamTime.TotalMilliseconds));
        Assert.All(faces, f => Assert.Equal(bundle.Model.Config.VisualDim, f.Features.Length));
        Assert.All(faces, f => Assert.All(f.Features, v => Assert.True(float.IsFinite(v))));

        // The stage's features are the encoder's for the same crop, computed once per frame (alone here, batched in
        // the stage: the last float bits may differ).
        var crop = detector.CropLargest(FaceFrame(TimeSpan.Zero), encoder.InputSize)!;
        using var direct = encoder.Encode([crop], encoder.InputSize);
        var expected = direct.data<float>().ToArray();
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], faces[0].Features[i], 1e-4);
    }

    [SkippableFact]
    public async Task The_face_stage_stops_when_cancelled()
    {
        using var detector = Haar();
        using var bundle = ModelBundle.Load(DemoModel);
        var stage = new FaceStage(detector, bundle.VisualEncoder!, new FaceOptions());
        var frames = Channel.CreateUnbounded<VideoFrame>();
        using var cancel = new CancellationTokenSource();
        var run = stage.RunAsync(frames.Reader, new FaceTimeline(), cancel.Token);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(TimeSpan.FromSeconds(5)));
    }
}
