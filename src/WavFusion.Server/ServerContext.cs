using WavFusion.Live.Pipeline;
using WavFusion.Server.Sessions;
using WavFusion.Server.Streaming;

namespace WavFusion.Server;

/// <summary>What every call shares: the live runtime (one model, one batcher), the session hub, the options and the open streams.</summary>
public sealed class ServerContext(LiveRuntime runtime, ISessionHub hub, ServerOptions options, StreamRegistry streams, TimeProvider time, MediaStore? media)
{
    public LiveRuntime Runtime { get; } = runtime;

    public ISessionHub Hub { get; } = hub;

    public ServerOptions Options { get; } = options;

    public StreamRegistry Streams { get; } = streams;

    public TimeProvider Time { get; } = time;

    /// <summary>Where received media is kept when the retention policy says so; null (the default) keeps nothing.</summary>
    public MediaStore? Media { get; } = media;
}
