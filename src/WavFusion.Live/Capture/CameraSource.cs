using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using OpenCvSharp;
using WavFusion.Live.Pipeline;
using WavFusion.Media;

namespace WavFusion.Live.Capture;

/// <summary>What a <see cref="CameraSource"/> reads, told from its name.</summary>
public enum VideoSourceKind
{
    /// <summary>A camera by index ("0"): stream time is the time since capture started.</summary>
    Device,
    /// <summary>An RTSP or HTTP URL: live, timed like a device.</summary>
    Stream,
    /// <summary>A video file: stream time is the frame's position in the file.</summary>
    File,
}

/// <summary>
/// Frames from a camera index, an RTSP/HTTP URL or a video file through OpenCV's <see cref="VideoCapture"/>, on a
/// thread of its own, capped at <see cref="CameraOptions.MaxFps"/> (later frames are skipped) and delivered as
/// packed BGR <see cref="VideoFrame"/>s. A live source that stops delivering is reported once, then reopened with
/// exponential backoff until it comes back or capture is cancelled, while the rest of the pipeline (audio) goes on.
/// A file ends the stream at its end (or starts again, with <see cref="CameraOptions.Loop"/>); a file that fails
/// before its reported frame count is a disconnect too, given up after <see cref="CameraOptions.FileRetries"/>.
/// A file is read as fast as it decodes, or with <see cref="CameraOptions.PaceFiles"/> each delivered frame waits
/// until its timestamp is due, counted from the first frame, as a camera would deliver it.
/// </summary>
public sealed class CameraSource : IVideoSource
{
    // OpenCV's CAP_PROP_OPEN_TIMEOUT_MSEC and CAP_PROP_READ_TIMEOUT_MSEC (FFmpeg backend), which OpenCvSharp does not
    // name: a silent network camera would otherwise hold the capture thread, and so a stop, for FFmpeg's 30 s.
    private const int OpenTimeoutProperty = 53;
    private const int ReadTimeoutProperty = 54;
    private const int NetworkTimeoutMs = 3000;

    private readonly CameraOptions _options;
    private readonly TimeProvider _time;
    private readonly Action<string> _log;
    private readonly CancellationTokenSource _disposed = new();
    private Task? _run;
    private long _disconnects;
    private long _skipped;

    /// <param name="source">A camera index ("0"), an rtsp://, http:// or https:// URL, or a video file.</param>
    /// <param name="log">Receives one line per disconnect and per give-up; standard error when null.</param>
    public CameraSource(string source, CameraOptions options, TimeProvider? time = null, Action<string>? log = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(source);
        ArgumentNullException.ThrowIfNull(options);
        Name = source;
        _options = options;
        _time = time ?? TimeProvider.System;
        _log = log ?? Console.Error.WriteLine;
        Kind = int.TryParse(source, NumberStyles.None, CultureInfo.InvariantCulture, out _) ? VideoSourceKind.Device
            : source.Contains("://", StringComparison.Ordinal) ? VideoSourceKind.Stream
            : VideoSourceKind.File;
    }

    public string Name { get; }

    /// <summary>A camera or a URL always; a file when <see cref="CameraOptions.PaceFiles"/> delivers its frames at their times.</summary>
    public bool Realtime => Kind != VideoSourceKind.File || _options.PaceFiles;

    public bool Recorded => Kind == VideoSourceKind.File;

    public VideoSourceKind Kind { get; }

    /// <summary>Delivered frames and recoveries (<see cref="CaptureCounters.Reconnects"/>: reopened after a disconnect).</summary>
    public CaptureCounters Counters { get; } = new();

    /// <summary>Outages: a source that stopped delivering (each reported once, however many reopens it took).</summary>
    public long Disconnects => Interlocked.Read(ref _disconnects);

    /// <summary>Frames read but not delivered because of the frame-rate cap.</summary>
    public long Skipped => Interlocked.Read(ref _skipped);

    public Task RunAsync(ChannelWriter<VideoFrame> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposed.Token);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                Capture(output, stop.Token);
                done.TrySetResult();
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                done.TrySetResult();
            }
            catch (Exception e)
            {
                done.TrySetException(e);
            }
            finally
            {
                // No more frames either way; why capture failed is the task's to say.
                output.TryComplete();
                stop.Dispose();
            }
        })
        { IsBackground = true, Name = $"camera {Name}" };
        if (Interlocked.CompareExchange(ref _run, done.Task, null) is not null)
        {
            stop.Dispose();
            throw new InvalidOperationException($"{Name}: capture is already running");
        }
        thread.Start();
        return done.Task;
    }

    private void Capture(ChannelWriter<VideoFrame> output, CancellationToken stop)
    {
        long start = _time.GetTimestamp();
        var capture = Open() ?? throw new IOException($"{Name}: cannot open camera/video: {WhyNotOpened()}");
        try
        {
            var gate = new FrameRateGate(_options.MaxFps);
            var pacing = Kind == VideoSourceKind.File && _options.PaceFiles ? new FramePacing() : null;
            using var image = new Mat();
            long framesRead = 0;
            var loopOffset = TimeSpan.Zero;
            var lastFileTime = TimeSpan.Zero;
            bool down = false;
            int reopensWithoutFrame = 0;
            int backoffMs = _options.RetryInitialMs;
            while (!stop.IsCancellationRequested)
            {
                if (capture.Read(image) && !image.Empty())
                {
                    framesRead++;
                    down = false;
                    reopensWithoutFrame = 0;
                    backoffMs = _options.RetryInitialMs;
                    TimeSpan time;
                    if (Kind == VideoSourceKind.File)
                    {
                        lastFileTime = TimeSpan.FromMilliseconds(capture.Get(VideoCaptureProperties.PosMsec));
                        time = loopOffset + lastFileTime;
                    }
                    else time = _time.GetElapsedTime(start);
                    if (!gate.TryPass(time))
                    {
                        Interlocked.Increment(ref _skipped);
                        continue;
                    }
                    if (pacing is not null && !pacing.WaitUntilDue(time, stop)) return;
                    if (!Write(output, ToFrame(image, time), stop)) return;
                    Counters.Deliver();
                    continue;
                }

                if (Kind == VideoSourceKind.File && !down)
                {
                    double reported = capture.Get(VideoCaptureProperties.FrameCount);
                    if (reported <= 0 || framesRead >= reported)
                    {
                        if (!_options.Loop || framesRead == 0) return;
                        double fps = capture.Fps;
                        loopOffset += lastFileTime + TimeSpan.FromSeconds(fps > 0 ? 1 / fps : 0.04);
                        framesRead = 0;
                        capture.Set(VideoCaptureProperties.PosFrames, 0);
                        continue;
                    }
                }

                if (!down)
                {
                    down = true;
                    Interlocked.Increment(ref _disconnects);
                    _log(Kind == VideoSourceKind.File
                        ? $"{Name}: video failed after frame {framesRead} of the {capture.Get(VideoCaptureProperties.FrameCount):0} it reports; taken as a disconnect, reopening (at most {_options.FileRetries} times)"
                        : $"{Name}: camera stopped delivering frames; reopening with backoff from {_options.RetryInitialMs} ms up to {_options.RetryMaxMs} ms while audio goes on");
                }
                if (Kind == VideoSourceKind.File && reopensWithoutFrame >= _options.FileRetries)
                {
                    _log($"{Name}: no frame after {reopensWithoutFrame} reopens; the rest of the video is taken as lost and the stream ends");
                    return;
                }
                capture.Dispose();
                capture = null;
                while (capture is null)
                {
                    if (stop.WaitHandle.WaitOne(backoffMs)) return;
                    backoffMs = (int)Math.Min((long)backoffMs * 2, _options.RetryMaxMs);
                    reopensWithoutFrame++;
                    capture = Open();
                    if (capture is null && Kind == VideoSourceKind.File && reopensWithoutFrame >= _options.FileRetries)
                    {
                        _log($"{Name}: cannot reopen the video after {reopensWithoutFrame} tries; the stream ends");
                        return;
                    }
                }
                Counters.Reconnect();
                if (Kind == VideoSourceKind.File) capture.Set(VideoCaptureProperties.PosFrames, framesRead);
            }
        }
        finally
        {
            capture?.Dispose();
        }
    }

    private VideoCapture? Open()
    {
        var capture = Kind switch
        {
            VideoSourceKind.Device => new VideoCapture(int.Parse(Name, NumberStyles.None, CultureInfo.InvariantCulture), VideoCaptureAPIs.ANY),
            VideoSourceKind.Stream => new VideoCapture(Name, VideoCaptureAPIs.FFMPEG,
                [OpenTimeoutProperty, NetworkTimeoutMs, ReadTimeoutProperty, NetworkTimeoutMs]),
            _ => new VideoCapture(Name, VideoCaptureAPIs.ANY),
        };
        if (capture.IsOpened()) return capture;
        capture.Dispose();
        return null;
    }

    private string WhyNotOpened() => Kind switch
    {
        VideoSourceKind.Device => $"no camera at index {Name}, or it is in use",
        VideoSourceKind.Stream => $"the stream did not answer within {NetworkTimeoutMs} ms, or its format is not supported",
        _ => System.IO.File.Exists(Name) ? "not a video OpenCV can decode" : "no such file",
    };

    /// <summary>
    /// Real-time delivery of a file: a frame is due its stream time after the first frame's, on a <see cref="Stopwatch"/>
    /// started at the first frame (so opening and decoding the start of the file are not a backlog sent in a burst).
    /// Each frame waits for its own due time, not a fixed interval after the previous one, so overshoots do not add up,
    /// and a reader that fell behind catches up without waiting.
    /// </summary>
    private sealed class FramePacing
    {
        private readonly Stopwatch _clock = new();
        private TimeSpan _first;

        /// <summary>False when cancelled while waiting.</summary>
        public bool WaitUntilDue(TimeSpan streamTime, CancellationToken stop)
        {
            if (!_clock.IsRunning)
            {
                _first = streamTime;
                _clock.Start();
                return true;
            }
            var wait = streamTime - _first - _clock.Elapsed;
            return wait <= TimeSpan.Zero || !stop.WaitHandle.WaitOne(wait);
        }
    }

    /// <summary>
    /// Drop-oldest channels (capture policy) always take the frame; a channel that waits holds the capture thread
    /// until there is room. False when the channel was closed.
    /// </summary>
    private static bool Write(ChannelWriter<VideoFrame> output, VideoFrame frame, CancellationToken stop)
    {
        while (!output.TryWrite(frame))
            if (!output.WaitToWriteAsync(stop).AsTask().GetAwaiter().GetResult()) return false;
        return true;
    }

    private static VideoFrame ToFrame(Mat image, TimeSpan time)
    {
        using var converted = new Mat();
        var bgr = image;
        if (image.Channels() != 3 || image.Depth() != MatType.CV_8U)
        {
            if (image.Depth() != MatType.CV_8U) throw new InvalidDataException($"camera delivered {image.Type()} pixels, expected 8-bit");
            Cv2.CvtColor(image, converted, image.Channels() == 1 ? ColorConversionCodes.GRAY2BGR : ColorConversionCodes.BGRA2BGR);
            bgr = converted;
        }
        int width = bgr.Width, height = bgr.Height, rowBytes = width * 3;
        var pixels = new byte[checked(rowBytes * height)];
        if (bgr.IsContinuous()) Marshal.Copy(bgr.Data, pixels, 0, pixels.Length);
        else
            for (int y = 0; y < height; y++)
                Marshal.Copy(bgr.Ptr(y), pixels, y * rowBytes, rowBytes);
        return VideoFrame.Packed(pixels, width, height, PixelOrder.Bgr, time);
    }

    /// <summary>Stops capture and waits for the capture thread to release the camera.</summary>
    public async ValueTask DisposeAsync()
    {
        await _disposed.CancelAsync().ConfigureAwait(false);
        if (Volatile.Read(ref _run) is { } run)
        {
            try
            {
                await run.ConfigureAwait(false);
            }
            catch (IOException)
            {
                // Already reported to whoever awaited RunAsync.
            }
        }
        _disposed.Dispose();
    }
}
