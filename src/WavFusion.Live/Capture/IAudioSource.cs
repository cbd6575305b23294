using System.Threading.Channels;
using WavFusion.Media;

namespace WavFusion.Live.Capture;

/// <summary>
/// A source of audio (microphone, file, gRPC push). It converts whatever it reads to 16 kHz mono float
/// (<see cref="AudioChunk.SampleRate"/>) and stamps each chunk with its originating stream time: samples
/// captured so far / rate, so time advances at the sample rate whatever the delivery jitter.
/// Capture runs on a dedicated thread, never on the thread pool.
/// </summary>
public interface IAudioSource : IAsyncDisposable
{
    /// <summary>A name for logs and errors: the device or file.</summary>
    string Name { get; }

    /// <summary>
    /// True when the source delivers at the pace of the stream (a microphone, a paced file): its channel drops the
    /// oldest data rather than block capture. False when it is read as fast as the pipeline takes it (a file):
    /// its channel waits, so nothing is lost.
    /// </summary>
    bool Realtime { get; }

    /// <summary>What went wrong and was recovered from (overruns, dropped reads), counted.</summary>
    CaptureCounters Counters { get; }

    /// <summary>
    /// Captures until <paramref name="cancellationToken"/> fires (returning within 100 ms) or the input ends,
    /// writing chunks to <paramref name="output"/>; completes <paramref name="output"/> when done. A device that
    /// cannot be opened fails with an error naming it.
    /// </summary>
    Task RunAsync(ChannelWriter<AudioChunk> output, CancellationToken cancellationToken);
}

/// <summary>A source of video frames (camera, file, URL, gRPC push), each stamped with its stream time.</summary>
public interface IVideoSource : IAsyncDisposable
{
    string Name { get; }

    /// <summary>
    /// True when frames arrive at the pace of the stream (a camera, a URL, a file paced in real time): its channel drops
    /// the oldest frames rather than block capture. False when a file is read as fast as the pipeline takes it.
    /// </summary>
    bool Realtime { get; }

    /// <summary>
    /// True for recorded video (a file): every window waits until the video has been analysed past its end, so the faces
    /// joined to it are the same on every run whatever the pacing. False for live video, where a window takes the faces
    /// analysed by the time it is complete and never waits on a camera.
    /// </summary>
    bool Recorded { get; }

    CaptureCounters Counters { get; }

    /// <summary>Captures until cancelled or the input ends; completes <paramref name="output"/> when done.</summary>
    Task RunAsync(ChannelWriter<VideoFrame> output, CancellationToken cancellationToken);
}

/// <summary>Counters a source keeps while it runs; read from any thread.</summary>
public sealed class CaptureCounters
{
    private long _overruns;
    private long _reconnects;
    private long _frames;
    private long _dropped;

    /// <summary>ALSA overruns (xruns) recovered with snd_pcm_recover.</summary>
    public long Overruns => Interlocked.Read(ref _overruns);

    /// <summary>Disconnects recovered by reopening the device.</summary>
    public long Reconnects => Interlocked.Read(ref _reconnects);

    /// <summary>Chunks or frames delivered.</summary>
    public long Delivered => Interlocked.Read(ref _frames);

    /// <summary>
    /// Chunks a full channel refused. Capture channels drop their oldest item instead (counted by the channel), so
    /// this stays 0 unless a source is given a channel that waits: a microphone cannot wait.
    /// </summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public void Overrun() => Interlocked.Increment(ref _overruns);

    public void Reconnect() => Interlocked.Increment(ref _reconnects);

    public void Deliver() => Interlocked.Increment(ref _frames);

    public void Drop() => Interlocked.Increment(ref _dropped);
}
