using System.Threading.Channels;
using WavFusion.Inference.Encoders;
using WavFusion.Live.Pipeline;
using WavFusion.Media;

namespace WavFusion.Live.Stages;

/// <summary>
/// Video frames → the largest face of each, at most <see cref="FaceOptions.Fps"/> per second of stream time → its
/// image-encoder features, computed once per analysed frame → a <see cref="FaceObservation"/> on the stream's
/// <see cref="FaceTimeline"/>, which every window containing the frame shares. Crops that are waiting when the
/// encoder is free go through it together. Frames without a face add nothing and are counted.
/// </summary>
public sealed class FaceStage
{
    /// <summary>Crops per encoder call at most, so a backlog cannot hold a window's faces back for long.</summary>
    public const int MaxBatch = 4;

    private readonly FaceDetector _detector;
    private readonly IVisualFeatureEncoder _encoder;
    private readonly FaceOptions _options;

    /// <param name="detector">This stream's detector (not shared between streams).</param>
    /// <param name="encoder">The bundle's image encoder, shared by every stream; crops are cut at its input size.</param>
    public FaceStage(FaceDetector detector, IVisualFeatureEncoder encoder, FaceOptions options)
    {
        ArgumentNullException.ThrowIfNull(detector);
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(options);
        if (!(options.Fps > 0)) throw new ArgumentOutOfRangeException(nameof(options), options.Fps, "faces.fps must be positive");
        _detector = detector;
        _encoder = encoder;
        _options = options;
    }

    public FaceStageCounters Counters { get; } = new();

    /// <summary>Reads <paramref name="frames"/> until it completes or <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunAsync(ChannelReader<VideoFrame> frames, FaceTimeline timeline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(frames);
        ArgumentNullException.ThrowIfNull(timeline);
        var gate = new FrameRateGate(_options.Fps);
        var pending = new List<(TimeSpan Time, byte[] Crop)>(MaxBatch);
        int size = _encoder.InputSize;
        try
        {
            while (await frames.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                // Detect in everything already queued, then encode the crops found together.
                var latest = TimeSpan.MinValue;
                while (pending.Count < MaxBatch && !cancellationToken.IsCancellationRequested && frames.TryRead(out var frame))
                {
                    Counters.Seen();
                    latest = frame.StreamTime;
                    if (!gate.TryPass(frame.StreamTime)) continue;
                    Counters.Analyse();
                    if (_detector.CropLargest(frame, size) is { } crop) pending.Add((frame.StreamTime, crop));
                    else Counters.Missed();
                }
                if (pending.Count > 0)
                {
                    foreach (var face in Encode(pending, size)) timeline.Add(face);
                    Counters.Found(pending.Count);
                    pending.Clear();
                }
                // Every frame up to here is on the timeline (or had no face): windows up to it may join.
                if (latest != TimeSpan.MinValue) timeline.Advance(latest);
            }
        }
        finally
        {
            timeline.End();
        }
    }

    private List<FaceObservation> Encode(List<(TimeSpan Time, byte[] Crop)> crops, int size)
    {
        using var features = _encoder.Encode(crops.Select(c => c.Crop).ToList(), size);
        Counters.Encoded();
        int dim = _encoder.Dim;
        var values = features.data<float>().ToArray();
        if (values.Length != crops.Count * dim)
            throw new InvalidOperationException($"image encoder returned {values.Length} values for {crops.Count} crops of width {dim}");
        var faces = new List<FaceObservation>(crops.Count);
        for (int i = 0; i < crops.Count; i++) faces.Add(new FaceObservation(crops[i].Time, values.AsSpan(i * dim, dim).ToArray()));
        return faces;
    }
}
