using System.Threading.Channels;
using WavFusion.Api.V1;
using WavFusion.Live.Pipeline;

namespace WavFusion.Live.Events;

/// <summary>
/// One event stream to several sinks: each sink has its own bounded channel (the "events" policy), so a slow sink
/// loses its oldest events (counted per sink) while the others, and the pipeline, go on.
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

    /// <summary>Hands <paramref name="e"/> to every sink; never waits on one.</summary>
    public void Publish(StreamingRecognizeResponse e)
    {
        foreach (var sink in _sinks)
            if (!sink.Writer.TryWrite(e) && sink.Policy.FullMode == FullMode.Wait)
                throw new InvalidOperationException($"event channel '{sink.Name}' is full; sink channels must drop the oldest, not wait");
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
            await foreach (var e in events.ReadAllAsync(cancellationToken).ConfigureAwait(false)) Publish(e);
        }
        finally
        {
            Complete();
        }
    }
}
