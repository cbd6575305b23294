using System.Threading.Channels;
using WavFusion.Api.V1;
using WavFusion.Live.Pipeline;

namespace WavFusion.Live.Events;

/// <summary>
/// One event stream to several sinks: each sink has its own bounded channel. A sink on a drop-oldest channel (the
/// "events" policy: consoles, files, dashboards) loses its oldest events when it is slow (counted per sink) while the
/// others, and the pipeline, go on. A sink on a waiting channel (the gRPC caller who streams the session's media and
/// must receive every result of it) slows its own session instead: backpressure, like the push path the media came in on.
/// </summary>
public sealed class EventFanOut
{
    private readonly List<CountedChannel<StreamingRecognizeResponse>> _sinks = [];

    /// <summary>A new sink's channel, reported by <paramref name="stats"/> as "events:<paramref name="name"/>".</summary>
    public ChannelReader<StreamingRecognizeResponse> Subscribe(string name, ChannelPolicy policy, LiveStats stats)
    {
        ArgumentNullException.ThrowIfNull(stats);
        var channel = policy.Create<StreamingRecognizeResponse>($"events:{name}");
        _sinks.Add(channel);
        stats.Track(channel);
        return channel.Reader;
    }

    /// <summary>Hands <paramref name="e"/> to every sink; waits only on sinks whose policy waits.</summary>
    public async ValueTask PublishAsync(StreamingRecognizeResponse e, CancellationToken cancellationToken)
    {
        foreach (var sink in _sinks)
        {
            if (sink.Writer.TryWrite(e) || sink.Policy.FullMode == FullMode.DropOldest) continue;
            try
            {
                await sink.Writer.WriteAsync(e, cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException)
            {
                // The sink stopped reading (its caller went away); the others still get the event.
            }
        }
    }

    /// <summary>
    /// Ends one sink's channel: a sink that stops reading early (its caller went away) is never waited on again, and
    /// a publish waiting on it returns.
    /// </summary>
    public void Complete(ChannelReader<StreamingRecognizeResponse> sink)
    {
        foreach (var channel in _sinks)
            if (ReferenceEquals(channel.Reader, sink)) channel.Writer.TryComplete();
    }

    public void Complete()
    {
        foreach (var sink in _sinks) sink.Writer.TryComplete();
    }

    /// <summary>Forwards an event channel to the sinks until it completes.</summary>
    public async Task PumpAsync(ChannelReader<StreamingRecognizeResponse> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        try
        {
            await foreach (var e in events.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                await PublishAsync(e, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Complete();
        }
    }
}
