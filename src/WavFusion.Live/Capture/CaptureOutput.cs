using System.Threading.Channels;
using WavFusion.Media;

namespace WavFusion.Live.Capture;

/// <summary>How sources hand chunks to their channel.</summary>
internal static class CaptureOutput
{
    /// <summary>
    /// Offers a chunk without waiting, as a live device must (its hardware buffer keeps filling). Returns false when
    /// the channel has been completed by its reader side, so the source stops; a chunk a full waiting channel
    /// refuses is counted in <see cref="CaptureCounters.Dropped"/>.
    /// </summary>
    public static bool Offer(ChannelWriter<AudioChunk> output, AudioChunk chunk, CaptureCounters counters)
    {
        if (output.TryWrite(chunk))
        {
            counters.Deliver();
            return true;
        }
        // TryWrite fails for a completed channel or a full one whose policy waits. A drop-oldest channel never
        // reports full, and for any channel WaitToWriteAsync answers at once when the channel is completed.
        var ready = output.WaitToWriteAsync(CancellationToken.None);
        if (ready.IsCompletedSuccessfully && !ready.Result) return false;
        if (ready.IsFaulted || ready.IsCanceled) return false;
        // A pending wait is handed to a Task so the channel may complete it when space frees; it is not awaited.
        if (!ready.IsCompleted) _ = ready.AsTask();
        counters.Drop();
        return true;
    }

    /// <summary>
    /// Writes a chunk, waiting while the channel is full (for inputs that can wait: files read as fast as the
    /// channel takes them). Returns false when the channel has been completed.
    /// </summary>
    public static bool Write(ChannelWriter<AudioChunk> output, AudioChunk chunk, CaptureCounters counters, CancellationToken cancellationToken)
    {
        while (!output.TryWrite(chunk))
        {
            // Blocking here is deliberate: this runs on the source's own thread, never on the thread pool.
            if (!output.WaitToWriteAsync(cancellationToken).AsTask().GetAwaiter().GetResult()) return false;
        }
        counters.Deliver();
        return true;
    }
}
