namespace WavFusion.Live.Stages;

/// <summary>What the face stage did with the frames it read; read from any thread.</summary>
public sealed class FaceStageCounters
{
    private long _seen;
    private long _analysed;
    private long _faces;
    private long _noFace;
    private long _encoderCalls;

    /// <summary>Frames read from the channel.</summary>
    public long FramesSeen => Interlocked.Read(ref _seen);

    /// <summary>Frames the frame-rate cap let through to the detector.</summary>
    public long Analysed => Interlocked.Read(ref _analysed);

    /// <summary>Analysed frames with a face, each added to the timeline.</summary>
    public long FacesFound => Interlocked.Read(ref _faces);

    /// <summary>Analysed frames without a face; they add nothing.</summary>
    public long NoFace => Interlocked.Read(ref _noFace);

    /// <summary>Calls to the image encoder (each encodes the crops that were pending).</summary>
    public long EncoderCalls => Interlocked.Read(ref _encoderCalls);

    internal void Seen() => Interlocked.Increment(ref _seen);

    internal void Analyse() => Interlocked.Increment(ref _analysed);

    internal void Found(int count) => Interlocked.Add(ref _faces, count);

    internal void Missed() => Interlocked.Increment(ref _noFace);

    internal void Encoded() => Interlocked.Increment(ref _encoderCalls);
}
