using System.Threading.Channels;
using WavFusion.Api.V1;
using WavFusion.Inference;
using WavFusion.Live.Batching;
using WavFusion.Live.Capture;
using WavFusion.Live.Events;
using WavFusion.Live.Stages;
using WavFusion.Media;
using WavFusion.Speech.Streaming;
using AudioChunk = WavFusion.Media.AudioChunk;
using VideoFrame = WavFusion.Media.VideoFrame;

namespace WavFusion.Live.Pipeline;

/// <summary>What one session needs besides its sources: the shared batcher and models, and its per-stream parts.</summary>
/// <param name="ClientTranscript">Timed text the client had before the stream began (a transcript file).</param>
/// <param name="ClientTranscriptFeed">Timed text the client sends while it streams (gRPC push); completed by the sender.</param>
/// <param name="Channel">The audio channel of the caller's stream this session analyses; its events carry it.</param>
public sealed record SessionParts(
    InferenceBatcher Batcher,
    ModelBundle Bundle,
    IVoiceActivityDetector VoiceActivity,
    IHypothesisSource? Asr,
    FaceDetector? Faces,
    IReadOnlyList<TranscriptSegment>? ClientTranscript,
    ChannelReader<TranscriptSegment>? ClientTranscriptFeed = null,
    uint Channel = 0);

/// <summary>
/// One live stream, its stages in order. Each arrow is a bounded channel with its policy from config/live.json:
///
///     audio source → audio_capture → [client transcript at stream time] → VAD ─┬→ voiced_audio → window assembler ─┐
///                                                                            └→ transcriber_audio → transcriber ─→ transcript timeline
///     video source → video_capture → face stage → face timeline ─────────────────────────────────────────────────┤
///                                          windows → scoring (shared batcher) → session events → sinks (fan-out)
///
/// The window assembler puts speech begin/end boundaries between the windows, so they reach the events in stream order. The session ends when its audio ends or it is cancelled;
/// every stage's loop then ends and the sinks receive everything scored before.
/// </summary>
public sealed class LiveSession(string sessionId, LiveOptions options, SessionParts parts, TimeProvider time, LiveStats stats)
{
    public string SessionId => sessionId;

    public async Task RunAsync(IAudioSource audio, IVideoSource? video, EventFanOut sinks, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(audio);
        ArgumentNullException.ThrowIfNull(sinks);
        var channels = options.Channels;
        // A source at the stream's pace must never block (drop the oldest); a file read as fast as possible must lose nothing (wait).
        var captured = (audio.Realtime ? channels.AudioCapture : channels.AudioPush).Create<AudioChunk>("audio_capture");
        var timed = channels.VoicedAudio.Create<AudioChunk>("client_transcript_clock");
        var voiced = channels.VoicedAudio.Create<VoicedChunk>("voiced_audio");
        var toTranscriber = channels.TranscriberAudio.Create<VoicedChunk>("transcriber_audio");
        var frames = (video is null || video.Realtime ? channels.VideoCapture : channels.AudioPush with { Capacity = channels.VideoCapture.Capacity })
            .Create<VideoFrame>("video_capture");
        var windows = channels.Windows.Create<WindowStreamItem>("windows");
        var joined = channels.Windows.Create<WindowStreamItem>("joined_windows");
        var events = channels.SessionEvents.Create<StreamingRecognizeResponse>("session_events");
        stats.Track(captured);
        stats.Track(voiced);
        stats.Track(toTranscriber);
        stats.Track(frames);
        stats.Track(windows);
        stats.Track($"{audio.Name}: overruns", () => audio.Counters.Overruns);

        var transcript = new TranscriptTimeline();
        var faces = new FaceTimeline();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _stop = linked;
        var token = linked.Token;

        var vadOutputs = new List<ChannelWriter<VoicedChunk>> { voiced.Writer };
        if (parts.Asr is not null) vadOutputs.Add(toTranscriber.Writer);
        var vad = new VoiceActivityStage(parts.VoiceActivity, vadOutputs);
        // Recorded video is joined after the assembler has moved on: its windows keep their faces until joined.
        var assembler = new WindowAssembler(options.Windows, transcript, faces, time) { ReserveFaces = video is { Recorded: true } };
        var scoring = new ScoringStage(parts.Batcher, sessionId, parts.Channel, parts.Bundle.ModelVersion, options.Batcher.PerModalityScores, time, stats)
        {
            PerModalityInterim = options.Batcher.PerModalityInterim,
        };

        var stages = new List<Task>
        {
            Stage(() => audio.RunAsync(captured.Writer, token), captured.Writer),
            Stage(() => ClientTranscriptClockAsync(captured.Reader, timed.Writer, transcript, token), timed.Writer),
            Stage(() => vad.RunAsync(timed.Reader, token), voiced.Writer, toTranscriber.Writer),
            Stage(() => assembler.RunAsync(voiced.Reader, windows.Writer, token), windows.Writer),
            Stage(() => JoinFacesAsync(windows.Reader, joined.Writer, faces, video is { Recorded: true }, token), joined.Writer),
            Stage(() => scoring.RunAsync(joined.Reader, events.Writer, token)),
        };
        if (parts.Asr is not null)
        {
            var transcriber = new StreamingTranscriber(parts.Asr);
            stages.Add(Stage(() => new TranscriptStage(transcriber, transcript).RunAsync(toTranscriber.Reader, token)));
        }
        if (video is not null && parts.Faces is not null && parts.Bundle.VisualEncoder is not null)
        {
            var faceStage = new FaceStage(parts.Faces, parts.Bundle.VisualEncoder, options.Faces);
            stats.Track("faces found", () => faceStage.Counters.FacesFound);
            stats.Track($"{video.Name}: reconnects", () => video.Counters.Reconnects);
            stages.Add(Stage(() => video.RunAsync(frames.Writer, token), frames.Writer));
            stages.Add(Stage(() => faceStage.RunAsync(frames.Reader, faces, token)));
        }
        var pump = sinks.PumpAsync(events.Reader, CancellationToken.None);

        // The session is over when the audio path has drained; video (a camera) runs until then.
        if (video is null || parts.Faces is null || parts.Bundle.VisualEncoder is null) faces.End();
        var audioPath = Task.WhenAll(stages[0], stages[1], stages[2], stages[3], stages[4], stages[5]);
        try
        {
            await audioPath.ConfigureAwait(false);
        }
        finally
        {
            await linked.CancelAsync().ConfigureAwait(false);
            try { await Task.WhenAll(stages).ConfigureAwait(false); }
            catch (OperationCanceledException) { }
            events.Writer.TryComplete();
            await pump.ConfigureAwait(false);
        }
    }

    /// <summary>Runs a stage loop; when it ends (normally, cancelled or failed) its outputs are completed so the next stages end too.</summary>
    private Task Stage(Func<Task> loop) => Finally(loop, () => { });

    private Task Stage<T1>(Func<Task> loop, ChannelWriter<T1> output) => Finally(loop, () => output.TryComplete());

    private Task Stage<T1, T2>(Func<Task> loop, ChannelWriter<T1> a, ChannelWriter<T2> b) =>
        Finally(loop, () =>
        {
            a.TryComplete();
            b.TryComplete();
        });

    /// <summary>A stage that fails stops the session: the others are cancelled, so none waits forever on a channel it feeds.</summary>
    private async Task Finally(Func<Task> loop, Action complete)
    {
        try
        {
            await loop().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        catch
        {
            if (_stop is { } stop) await stop.CancelAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            complete();
        }
    }

    private CancellationTokenSource? _stop;

    /// <summary>
    /// Passes audio on and, before each chunk, puts the client transcript segments that have begun by the chunk's end on
    /// the timeline, as a client's streaming recogniser sends text while it is said. A window, emitted once its audio
    /// has passed this clock, so sees exactly the segments that overlap it, however far the clock has run ahead: the
    /// join depends on stream time only, never on the pace. Segments a pushing client sends while it streams join the
    /// pending ones as they arrive, in time order.
    /// </summary>
    private async Task ClientTranscriptClockAsync(ChannelReader<AudioChunk> input, ChannelWriter<AudioChunk> output, TranscriptTimeline timeline, CancellationToken token)
    {
        var pending = new List<TranscriptSegment>(parts.ClientTranscript ?? []);
        pending.Sort((a, b) => a.Start.CompareTo(b.Start));
        var feed = parts.ClientTranscriptFeed;
        await foreach (var chunk in input.ReadAllAsync(token).ConfigureAwait(false))
        {
            if (feed is not null) TakeArrived(feed, pending);
            int due = 0;
            while (due < pending.Count && pending[due].Start < chunk.End) timeline.Add(pending[due++]);
            pending.RemoveRange(0, due);
            await output.WriteAsync(chunk, token).ConfigureAwait(false);
        }
        if (feed is not null) TakeArrived(feed, pending);
        foreach (var segment in pending) timeline.Add(segment);
    }

    private static void TakeArrived(ChannelReader<TranscriptSegment> feed, List<TranscriptSegment> pending)
    {
        while (feed.TryRead(out var segment))
        {
            int at = pending.Count;
            while (at > 0 && pending[at - 1].Start > segment.Start) at--;
            pending.Insert(at, segment);
        }
    }

    /// <summary>
    /// Joins each window to the faces inside it. Live, a window takes the faces analysed by the time it is complete.
    /// With recorded video (<paramref name="waitForVideo"/>: a file, paced or read as fast as possible), video and audio
    /// run at their own speeds, so a window waits until the video has been analysed past its end (or has ended): the join
    /// is on stream time whatever the arrival order, and the same on every run.
    /// </summary>
    private static async Task JoinFacesAsync(ChannelReader<WindowStreamItem> windows, ChannelWriter<WindowStreamItem> output, FaceTimeline faces,
        bool waitForVideo, CancellationToken token)
    {
        await foreach (var item in windows.ReadAllAsync(token).ConfigureAwait(false))
        {
            var joined = item;
            if (waitForVideo && item is EmotionWindow window)
            {
                while (faces.Watermark < window.End && !faces.Ended.IsCompleted)
                    await Task.WhenAny(faces.Ended, Task.Delay(5, token)).ConfigureAwait(false);
                joined = window with { Faces = faces.Between(window.Start, window.End) };
                faces.Release(window.Start);
            }
            await output.WriteAsync(joined, token).ConfigureAwait(false);
        }
    }
}
