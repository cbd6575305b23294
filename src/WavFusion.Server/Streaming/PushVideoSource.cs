using System.Runtime.InteropServices;
using System.Threading.Channels;
using OpenCvSharp;
using WavFusion.Live.Capture;
using WavFusion.Media;

namespace WavFusion.Server.Streaming;

/// <summary>
/// A caller's JPEG frames as an <see cref="IVideoSource"/>: the read loop queues them (a small waiting queue, so a
/// slow face stage slows the caller, never grows memory) and the source decodes each with OpenCV on its own loop,
/// stamped with the frame's stream time. A frame that does not decode, or whose header claims more than
/// <c>maxPixels</c>, is skipped unread and counted: one bad frame does not end a call.
/// </summary>
public sealed class PushVideoSource(string name, long maxPixels) : IVideoSource
{
    private const int QueueCapacity = 4;
    private readonly Channel<(byte[] Jpeg, TimeSpan Time)> _queue =
        Channel.CreateBounded<(byte[], TimeSpan)>(new BoundedChannelOptions(QueueCapacity) { SingleReader = true, SingleWriter = true });
    private long _undecodable;

    public string Name { get; } = name;

    /// <summary>A caller's frames wait for the face stage (backpressure on the caller), never dropped on the way in.</summary>
    public bool Realtime => false;

    /// <summary>Frames carry the caller's stream times: windows wait for the faces up to their end, so the join is exact.</summary>
    public bool Recorded => true;

    public CaptureCounters Counters { get; } = new();

    /// <summary>Frames skipped because they did not decode or were too large.</summary>
    public long Undecodable => Interlocked.Read(ref _undecodable);

    /// <summary>Queues a frame, waiting while the decoder is behind; false once the session takes no more video.</summary>
    public async ValueTask<bool> WriteAsync(byte[] jpeg, TimeSpan streamTime, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.Writer.WriteAsync((jpeg, streamTime), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ChannelClosedException)
        {
            return false;
        }
    }

    /// <summary>No more frames will come; the source ends once those queued are delivered.</summary>
    public void Complete() => _queue.Writer.TryComplete();

    public async Task RunAsync(ChannelWriter<VideoFrame> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        try
        {
            await foreach (var (jpeg, time) in _queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (Decode(jpeg, time) is not { } frame)
                {
                    Interlocked.Increment(ref _undecodable);
                    continue;
                }
                await output.WriteAsync(frame, cancellationToken).ConfigureAwait(false);
                Counters.Deliver();
            }
        }
        finally
        {
            // The session stopped taking video: a read loop still queueing must not wait for ever.
            _queue.Writer.TryComplete();
            output.TryComplete();
        }
    }

    private VideoFrame? Decode(byte[] jpeg, TimeSpan time)
    {
        if (JpegSize(jpeg) is not { } size || (long)size.Width * size.Height > maxPixels) return null;
        using var mat = Cv2.ImDecode(jpeg, ImreadModes.Color);
        if (mat.Empty() || mat.Type() != MatType.CV_8UC3) return null;
        int width = mat.Width, height = mat.Height;
        int rowBytes = width * 3;
        var pixels = new byte[checked(rowBytes * height)];
        long step = mat.Step();
        var data = mat.Data;
        for (int y = 0; y < height; y++) Marshal.Copy(data + (nint)(y * step), pixels, y * rowBytes, rowBytes);
        return VideoFrame.Packed(pixels, width, height, PixelOrder.Bgr, time);
    }

    /// <summary>
    /// Width and height from a JPEG's start-of-frame header, read before decoding so that a small file claiming a
    /// huge image is refused without allocating it; null when the bytes are not a JPEG with one.
    /// </summary>
    internal static (int Width, int Height)? JpegSize(ReadOnlySpan<byte> jpeg)
    {
        if (jpeg.Length < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8) return null;
        int i = 2;
        while (i + 4 <= jpeg.Length)
        {
            if (jpeg[i] != 0xFF) return null;
            byte marker = jpeg[i + 1];
            if (marker == 0xFF)
            {
                i++;
                continue;
            }
            int length = (jpeg[i + 2] << 8) | jpeg[i + 3];
            bool startOfFrame = marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC;
            if (startOfFrame)
            {
                if (i + 9 > jpeg.Length) return null;
                int height = (jpeg[i + 5] << 8) | jpeg[i + 6];
                int width = (jpeg[i + 7] << 8) | jpeg[i + 8];
                return width == 0 || height == 0 ? null : (width, height);
            }
            if (marker is 0xD9 or 0xDA || length < 2) return null;
            i += 2 + length;
        }
        return null;
    }

    public ValueTask DisposeAsync()
    {
        Complete();
        return ValueTask.CompletedTask;
    }
}
