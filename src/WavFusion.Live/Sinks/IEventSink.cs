using System.Threading.Channels;
using WavFusion.Api.V1;

namespace WavFusion.Live.Sinks;

/// <summary>
/// Where events go (console, JSON lines, a gRPC stream). Each sink drains its own bounded channel in one loop,
/// so a slow sink loses events (counted by its channel) and never stalls the pipeline, unless it
/// <see cref="NeedsEveryEvent"/>.
/// </summary>
public interface IEventSink
{
    /// <summary>
    /// True for the one sink that must receive every event of its session (the gRPC caller who streams the media):
    /// its channel waits when full, which slows this session alone; false (the default) drops its oldest events.
    /// </summary>
    bool NeedsEveryEvent => false;

    Task RunAsync(ChannelReader<StreamingRecognizeResponse> events, CancellationToken cancellationToken);
}
