using System.Threading.Channels;
using Google.Protobuf;
using WavFusion.Api.V1;

namespace WavFusion.Live.Sinks;

/// <summary>Each event as one line of the proto's JSON mapping (Google.Protobuf's JsonFormatter), flushed per line.</summary>
public sealed class JsonLinesSink(TextWriter output) : IEventSink
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(false));

    public long Written { get; private set; }

    public async Task RunAsync(ChannelReader<StreamingRecognizeResponse> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        await foreach (var e in events.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            await output.WriteLineAsync(Formatter.Format(e)).ConfigureAwait(false);
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            Written++;
        }
    }
}
