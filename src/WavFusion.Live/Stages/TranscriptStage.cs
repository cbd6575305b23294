using System.Threading.Channels;
using WavFusion.Media;
using WavFusion.Speech.Streaming;

namespace WavFusion.Live.Stages;

/// <summary>
/// Live transcript of one stream: the streaming transcriber over the stream's voiced audio (the VAD stage's
/// decisions, shared with the window assembler), its segments placed on the stream's transcript timeline, where
/// the window assembler joins them to windows by time.
/// </summary>
public sealed class TranscriptStage(StreamingTranscriber transcriber, TranscriptTimeline timeline)
{
    public long Segments { get; private set; }

    public long CommittedSegments { get; private set; }

    public async Task RunAsync(ChannelReader<VoicedChunk> audio, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(audio);
        await foreach (var segment in transcriber.TranscribeAsync(audio, cancellationToken).ConfigureAwait(false))
        {
            timeline.Add(segment);
            Segments++;
            if (segment.IsFinal) CommittedSegments++;
        }
    }
}
