using System.Threading.Channels;

using WavFusion.Media;

namespace WavFusion.Live.Stages;

/// <summary>
/// The stream's one voice-activity decision (docs/architecture.md, "Live inference data flow"): reads the stream's
/// audio, runs its detector once per chunk, and hands every chunk with its decision to each output (the window
/// assembler's channel and the transcriber's), so they never disagree about what is speech. Speech begins and
/// ends are reported as <see cref="SpeechBoundary"/> events at the time the detector places them: a begin at the
/// confirmed start of speech, an end where the silence began (<see cref="SpeechActivity.Start"/> of the decision
/// that changes the state).
/// <para>
/// Outputs are written with <see cref="ChannelWriter{T}.WriteAsync"/>, so each channel's own policy decides what a
/// full channel does: a "wait" channel holds the stage back (backpressure), a drop-oldest one never waits. The
/// stage is the single writer of its outputs and completes them when its input completes (with the error, if it
/// failed). One stage, and one detector, per stream; the detector is the caller's.
/// </para>
/// </summary>
public sealed class VoiceActivityStage
{
    private readonly IVoiceActivityDetector _detector;
    private readonly ChannelWriter<VoicedChunk>[] _outputs;
    private readonly ChannelWriter<SpeechBoundary>? _boundaries;

    public VoiceActivityStage(IVoiceActivityDetector detector, IEnumerable<ChannelWriter<VoicedChunk>> outputs, ChannelWriter<SpeechBoundary>? boundaries = null)
    {
        ArgumentNullException.ThrowIfNull(detector);
        ArgumentNullException.ThrowIfNull(outputs);
        _detector = detector;
        _outputs = [.. outputs];
        if (_outputs.Any(o => o is null)) throw new ArgumentException("an output channel is null", nameof(outputs));
        _boundaries = boundaries;
    }

    /// <summary>Chunks read so far.</summary>
    public long Chunks { get; private set; }

    /// <summary>Whether the stream is in speech after the last chunk.</summary>
    public bool InSpeech { get; private set; }

    public async Task RunAsync(ChannelReader<AudioChunk> input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        Exception? failure = null;
        try
        {
            TimeSpan end = TimeSpan.Zero;
            while (await input.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (input.TryRead(out var chunk))
                {
                    var activity = _detector.Detect(chunk);
                    Chunks++;
                    end = chunk.End;
                    if (activity.IsSpeech != InSpeech)
                    {
                        InSpeech = activity.IsSpeech;
                        await ReportAsync(new SpeechBoundary(activity.IsSpeech, activity.Start), cancellationToken).ConfigureAwait(false);
                    }
                    var voiced = new VoicedChunk(chunk, activity);
                    foreach (var output in _outputs) await output.WriteAsync(voiced, cancellationToken).ConfigureAwait(false);
                }
            }
            if (InSpeech)
            {
                // The stream ended in speech: the utterance ends with its last sample.
                InSpeech = false;
                await ReportAsync(new SpeechBoundary(false, end), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            failure = e;
            throw;
        }
        finally
        {
            foreach (var output in _outputs) output.TryComplete(failure);
            _boundaries?.TryComplete(failure);
        }
    }

    private ValueTask ReportAsync(SpeechBoundary boundary, CancellationToken cancellationToken) =>
        _boundaries?.WriteAsync(boundary, cancellationToken) ?? ValueTask.CompletedTask;
}
