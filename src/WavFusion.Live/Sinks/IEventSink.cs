using System.Threading.Channels;
using WavFusion.Api.V1;

namespace WavFusion.Live.Sinks;

/// <summary>
/// Where events go (console, JSON lines, a gRPC stream). Each sink drains its own bounded channel in one loop,
/// so a slow sink loses events (counted by its channel) and never stalls the pipeline.
/// </summary>
public interface IEventSink
{
    Task RunAsync(ChannelReader<StreamingRecognizeResponse> events, CancellationToken cancellationToken);
}
