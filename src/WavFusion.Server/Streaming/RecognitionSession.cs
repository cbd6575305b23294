using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Threading.Channels;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using WavFusion.Api.V1;
using WavFusion.Live.Pipeline;
using WavFusion.Live.Sinks;
using WavFusion.Media;
using WavFusion.Server.Sessions;
using ApiModalities = WavFusion.Api.V1.Modalities;
using EndReason = WavFusion.Api.V1.SessionSummary.Types.EndReason;

namespace WavFusion.Server.Streaming;

/// <summary>
/// One caller's stream, from its config to its summary. Each analysed channel is a session of the shared
/// <see cref="LiveRuntime"/> (one model, one batcher for all), fed by a <see cref="PushAudioSource"/>:
///
///     read loop (background) → per analysed channel: push audio source ─┐   (AGENT and other unanalysed channels are never decoded further)
///                            → JPEG frames → push video source ─────────┤→ live session (VAD, windows, transcript, faces, scoring)
///                            → client text → transcript feed ───────────┘        → forward sink (waits: the caller gets every result)
///     merged events → write loop (foreground, the response stream's one writer) → hub (watchers, never waited on) and the caller
///
/// The input ends when the caller closes its side (COMPLETED), breaks a rule (INVALID_ARGUMENT) or a limit
/// (RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED), or the server's shutdown grace runs out (UNAVAILABLE). In every case but
/// the caller's cancellation, what was received is analysed to its end, and the summary follows the last result. A
/// caller that cancels is gone at once: its session leaves the hub first, then its pipeline stops.
/// </summary>
public sealed class RecognitionSession
{
    private readonly ServerContext _server;
    private readonly StreamPlan _plan;
    private readonly ILogger _log;
    private readonly Lane[] _lanes;
    private readonly PushVideoSource? _video;
    private long _position;
    private long _framesReceived;
    private long _transcriptsReceived;

    public RecognitionSession(ServerContext server, StreamPlan plan, ILogger log)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(plan);
        _server = server;
        _plan = plan;
        _log = log;
        SessionId = "s-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var runtime = server.Runtime;
        _video = plan.SendVideo && runtime.AnalysesFaces && plan.PrimaryChannel is not null
            ? new PushVideoSource($"{SessionId} video", server.Options.Limits.MaxFramePixels)
            : null;
        _lanes = plan.AnalysedChannels.Select(c => new Lane(
            c,
            new PushAudioSource($"{SessionId} channel {c}", plan.SampleRate, runtime.Options.Microphone.ChunkMs),
            plan.ClientTranscripts ? Channel.CreateBounded<TranscriptSegment>(server.Options.Limits.MaxPendingTranscripts) : null,
            c == plan.PrimaryChannel ? _video : null)).ToArray();
    }

    public string SessionId { get; }

    /// <summary>
    /// Runs the stream: <paramref name="input"/> is what follows the config; <paramref name="emit"/> is the caller's
    /// side (the one writer of its responses). <paramref name="paced"/> applies the real-time rate limit (streams; a
    /// whole clip arrives at once). Returns the status the call ends with, after the summary was emitted.
    /// </summary>
    public async Task<Status> RunAsync(IAsyncEnumerable<StreamingRecognizeRequest> input,
        Func<StreamingRecognizeResponse, CancellationToken, Task> emit, bool paced, CancellationToken callCancelled)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(emit);
        var time = _server.Time;
        long started = time.GetTimestamp();
        var publisher = await _server.Hub.OpenAsync(Info(), callCancelled).ConfigureAwait(false);
        bool listed = true;
        try
        {
            using var recording = _server.Media?.Begin(SessionId, _plan);
            using var pipelineStop = CancellationTokenSource.CreateLinkedTokenSource(callCancelled);
            using var inputStop = CancellationTokenSource.CreateLinkedTokenSource(callCancelled, _server.Streams.InputCut);
            inputStop.CancelAfter(TimeSpan.FromSeconds(_server.Options.Limits.MaxStreamSeconds));

            var runtime = _server.Runtime;
            var merged = Channel.CreateBounded<StreamingRecognizeResponse>(new BoundedChannelOptions(runtime.Options.Channels.SessionEvents.Capacity)
            {
                FullMode = BoundedChannelFullMode.Wait,
                SingleReader = true,
            });
            var sink = new ForwardSink(merged.Writer, pipelineStop.Token);
            var pipelines = Task.WhenAll(_lanes.Select(lane => runtime.RunSessionAsync(
                new SessionSetup(SessionId, lane.Audio)
                {
                    Video = lane.Video,
                    ClientTranscriptFeed = lane.Transcripts?.Reader,
                    Channel = lane.Channel,
                    Windows = _plan.Windows,
                },
                [sink], lane.Stats, time, pipelineStop.Token)));
            // When every pipeline has ended the events are complete; a pipeline that failed also stops the input.
            var pipelinesEnded = pipelines.ContinueWith(t =>
            {
                merged.Writer.TryComplete();
                if (t.IsFaulted) inputStop.Cancel();
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            var reader = Task.Run(() => ReadAsync(input, paced, started, recording, inputStop, pipelineStop.Token, callCancelled), CancellationToken.None);

            var tally = new Tally();
            bool callerGone = false;
            try
            {
                await foreach (var e in merged.Reader.ReadAllAsync(callCancelled).ConfigureAwait(false))
                {
                    publisher.Publish(e);
                    tally.Add(e);
                    if (_plan.InterimResults || e.Result is not { IsFinal: false }) await emit(e, callCancelled).ConfigureAwait(false);
                }
            }
#pragma warning disable CA1031 // whatever the response stream throws, the caller is gone: the session ends as cancelled
            catch (Exception)
#pragma warning restore CA1031
            {
                callerGone = true;
            }

            if (callerGone)
            {
                // Gone at once: out of the hub before anything else, then the input and the pipeline stop.
                publisher.Publish(Summary(tally, new InputEnd(EndReason.Cancelled, Status.DefaultCancelled), time.GetElapsedTime(started), publisher));
                listed = false;
                await publisher.DisposeAsync().ConfigureAwait(false);
                await inputStop.CancelAsync().ConfigureAwait(false);
                await pipelineStop.CancelAsync().ConfigureAwait(false);
                foreach (var lane in _lanes) lane.Audio.Abort();
            }

            InputEnd end;
            try
            {
                end = await reader.ConfigureAwait(false);
                await pipelinesEnded.ConfigureAwait(false);
                if (!callerGone) await pipelines.ConfigureAwait(false);
            }
#pragma warning disable CA1031 // a failed pipeline ends this call with INTERNAL; the server and the other calls go on
            catch (Exception e) when (!callerGone)
            {
                _log.LogError(e, "session {Session}: the recognition pipeline failed", SessionId);
                end = new InputEnd(EndReason.Failed, new Status(StatusCode.Internal, $"the recognition pipeline failed: {e.Message}"));
            }
            catch (Exception)
            {
                end = new InputEnd(EndReason.Cancelled, Status.DefaultCancelled);
            }
#pragma warning restore CA1031
            if (callerGone) return Status.DefaultCancelled;

            var summary = Summary(tally, end, time.GetElapsedTime(started), publisher);
            publisher.Publish(summary);
            listed = false;
            await publisher.DisposeAsync().ConfigureAwait(false);
            try
            {
                await emit(summary, callCancelled).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // the caller left just before its summary: nothing more to tell it
            catch (Exception)
#pragma warning restore CA1031
            {
                return Status.DefaultCancelled;
            }
            return end.Status;
        }
        finally
        {
            if (listed) await publisher.DisposeAsync().ConfigureAwait(false);
            foreach (var lane in _lanes) await lane.Audio.DisposeAsync().ConfigureAwait(false);
            if (_video is not null) await _video.DisposeAsync().ConfigureAwait(false);
        }
    }

    private SessionInfo Info()
    {
        var info = new SessionInfo
        {
            SessionId = SessionId,
            SessionLabel = _plan.Label,
            StartedUnixMs = _server.Time.GetUtcNow().ToUnixTimeMilliseconds(),
            Modalities = new ApiModalities
            {
                Audio = true,
                Text = _plan.ClientTranscripts || _server.Runtime.TranscribesAudio,
                Visual = _video is not null,
            },
        };
        info.Channels.AddRange(_plan.ChannelRoles);
        return info;
    }

    /// <summary>The read loop: checks each message, feeds the lanes, and says how the input ended.</summary>
    private async Task<InputEnd> ReadAsync(IAsyncEnumerable<StreamingRecognizeRequest> input, bool paced, long started,
        MediaStore.Recording? recording, CancellationTokenSource inputStop, CancellationToken pipelineStop, CancellationToken callCancelled)
    {
        InputEnd end;
        try
        {
            bool open = true;
            var token = inputStop.Token;
            await foreach (var request in input.WithCancellation(token).ConfigureAwait(false))
            {
                open = request.PayloadCase switch
                {
                    StreamingRecognizeRequest.PayloadOneofCase.Config =>
                        throw Reject(StatusCode.InvalidArgument, "a second config: only the first message of a stream carries one"),
                    StreamingRecognizeRequest.PayloadOneofCase.Audio => await AudioAsync(request.Audio, paced, started, recording, token).ConfigureAwait(false),
                    StreamingRecognizeRequest.PayloadOneofCase.Frame => await FrameAsync(request.Frame, recording, token).ConfigureAwait(false),
                    StreamingRecognizeRequest.PayloadOneofCase.Transcript => Transcript(request.Transcript),
                    _ => throw Reject(StatusCode.InvalidArgument, "an empty message: audio, frame or transcript expected"),
                };
                if (!open) break;
            }
            end = open
                ? new InputEnd(EndReason.Completed, Status.DefaultSuccess)
                : new InputEnd(EndReason.Failed, new Status(StatusCode.Internal, "the recognition pipeline stopped taking audio"));
        }
#pragma warning disable CA1031 // how the input ended decides the status; the call ends with a summary whatever the transport threw
        catch (Exception e)
#pragma warning restore CA1031
        {
            end = HowInputEnded(e, inputStop.IsCancellationRequested, callCancelled.IsCancellationRequested);
        }

        // What arrived is analysed to its end, unless the caller is gone.
        if (end.Reason == EndReason.Cancelled)
        {
            foreach (var lane in _lanes) lane.Audio.Abort();
        }
        else
        {
            try
            {
                foreach (var lane in _lanes) await lane.Audio.CompleteAsync(pipelineStop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
        foreach (var lane in _lanes) lane.Transcripts?.Writer.TryComplete();
        _video?.Complete();
        return end;
    }

    /// <summary>Why reading stopped with <paramref name="e"/>: our own rejections carry their status; a cut input says why it was cut.</summary>
    private InputEnd HowInputEnded(Exception e, bool inputStopped, bool callCancelled)
    {
        if (callCancelled) return new InputEnd(EndReason.Cancelled, Status.DefaultCancelled);
        if (e is RpcException { StatusCode: not StatusCode.Cancelled } rpc)
            return new InputEnd(rpc.StatusCode == StatusCode.InvalidArgument ? EndReason.InvalidInput : EndReason.LimitExceeded, rpc.Status);
        if (_server.Streams.InputCut.IsCancellationRequested)
            return new InputEnd(EndReason.Shutdown, new Status(StatusCode.Unavailable, "the server shut down; the stream's input was cut after the grace period"));
        if (inputStopped)
            return new InputEnd(EndReason.LimitExceeded, new Status(StatusCode.DeadlineExceeded, string.Create(CultureInfo.InvariantCulture,
                $"the stream ran longer than {_server.Options.Limits.MaxStreamSeconds} s (limits.max_stream_seconds)")));
        _log.LogWarning(e, "session {Session}: reading the stream failed", SessionId);
        return new InputEnd(EndReason.Failed, new Status(StatusCode.Internal, $"reading the stream failed: {e.Message}"));
    }

    private async ValueTask<bool> AudioAsync(Api.V1.AudioChunk audio, bool paced, long started, MediaStore.Recording? recording, CancellationToken token)
    {
        var data = audio.Data.Memory;
        int frameBytes = _plan.BytesPerFrame;
        if (data.Length % frameBytes != 0)
            throw Reject(StatusCode.InvalidArgument,
                $"audio of {data.Length} bytes is not whole frames of {frameBytes} bytes ({_plan.Channels} channel(s) of {_plan.Encoding})");
        if (audio.StartOffsetMs < 0) throw Reject(StatusCode.InvalidArgument, $"audio start_offset_ms {audio.StartOffsetMs} is negative");
        long frames = data.Length / frameBytes;
        long gap = 0;
        if (audio.StartOffsetMs != 0)
        {
            long target = audio.StartOffsetMs * _plan.SampleRate / 1000;
            // Offsets are whole milliseconds: a chunk may start up to 1 ms before the audio's end and still be contiguous.
            if (target < _position - _plan.SampleRate / 1000 - 1)
                throw Reject(StatusCode.InvalidArgument, string.Create(CultureInfo.InvariantCulture,
                    $"audio start_offset_ms {audio.StartOffsetMs} goes back in time: {_position * 1000 / _plan.SampleRate} ms of audio already arrived"));
            gap = Math.Max(0, target - _position);
        }
        CheckLimits(_position + gap + frames, paced, started);
        if (gap > 0 && !await SilenceAsync(gap, token).ConfigureAwait(false)) return false;
        recording?.Audio(data.Span);
        if (_lanes.Length > 0)
        {
            var buffer = new float[frames];
            foreach (var lane in _lanes)
            {
                Deinterleave(data.Span, (int)lane.Channel, buffer);
                if (!await lane.Audio.WriteAsync(buffer, token).ConfigureAwait(false)) return false;
            }
        }
        _position += frames;
        return true;
    }

    /// <summary>A gap the caller left in its audio (a later start offset) is silence, so stream time stays the caller's.</summary>
    private async ValueTask<bool> SilenceAsync(long frames, CancellationToken token)
    {
        var zeros = new float[Math.Min(frames, _plan.SampleRate)];
        for (long left = frames; left > 0; left -= zeros.Length)
        {
            var piece = zeros.AsMemory(0, (int)Math.Min(left, zeros.Length));
            foreach (var lane in _lanes)
                if (!await lane.Audio.WriteAsync(piece, token).ConfigureAwait(false)) return false;
        }
        _position += frames;
        return true;
    }

    /// <summary>Stream duration (stream time or wall time) and the real-time rate: stream time may lead the wall clock by the burst.</summary>
    private void CheckLimits(long framesAfter, bool paced, long started)
    {
        var limits = _server.Options.Limits;
        double streamSeconds = framesAfter / (double)_plan.SampleRate;
        double wallSeconds = _server.Time.GetElapsedTime(started).TotalSeconds;
        if (Math.Max(streamSeconds, wallSeconds) > limits.MaxStreamSeconds)
            throw Reject(StatusCode.DeadlineExceeded, string.Create(CultureInfo.InvariantCulture,
                $"the stream ran longer than {limits.MaxStreamSeconds} s (limits.max_stream_seconds)"));
        if (paced && streamSeconds > wallSeconds * limits.MaxRealtimeSpeed + limits.RealtimeBurstMs / 1000.0)
            throw Reject(StatusCode.ResourceExhausted, string.Create(CultureInfo.InvariantCulture,
                $"media faster than real time: {streamSeconds:0.0} s of audio after {wallSeconds:0.0} s, beyond {limits.MaxRealtimeSpeed}× real time plus a {limits.RealtimeBurstMs} ms burst (limits.max_realtime_speed, limits.realtime_burst_ms)"));
    }

    private void Deinterleave(ReadOnlySpan<byte> data, int channel, Span<float> mono)
    {
        int channels = _plan.Channels;
        if (_plan.Encoding == AudioFormat.Types.Encoding.Linear16)
        {
            for (int f = 0; f < mono.Length; f++)
                mono[f] = BinaryPrimitives.ReadInt16LittleEndian(data.Slice((f * channels + channel) * 2, 2)) / 32768f;
            return;
        }
        for (int f = 0; f < mono.Length; f++)
        {
            float v = BinaryPrimitives.ReadSingleLittleEndian(data.Slice((f * channels + channel) * 4, 4));
            // A NaN or infinity from a broken client would poison every score of the window; it is silence instead.
            mono[f] = float.IsFinite(v) ? v : 0f;
        }
    }

    private async ValueTask<bool> FrameAsync(Api.V1.VideoFrame frame, MediaStore.Recording? recording, CancellationToken token)
    {
        if (!_plan.SendVideo) throw Reject(StatusCode.InvalidArgument, "a video frame, but the config did not set send_video");
        if (frame.OffsetMs < 0) throw Reject(StatusCode.InvalidArgument, $"frame offset_ms {frame.OffsetMs} is negative");
        _framesReceived++;
        var jpeg = frame.Jpeg.ToByteArray();
        recording?.Frame(jpeg, frame.OffsetMs);
        if (_video is null) return true;
        // The face stage stopping early (an audio-only pipeline end) does not stop the audio.
        await _video.WriteAsync(jpeg, TimeSpan.FromMilliseconds(frame.OffsetMs), token).ConfigureAwait(false);
        return true;
    }

    private bool Transcript(TranscriptText text)
    {
        if (!_plan.ClientTranscripts) throw Reject(StatusCode.InvalidArgument, "transcript text, but the config did not set client_transcripts");
        if (text.StartOffsetMs < 0 || text.EndOffsetMs <= text.StartOffsetMs)
            throw Reject(StatusCode.InvalidArgument, $"transcript offsets {text.StartOffsetMs}..{text.EndOffsetMs} ms: need 0 <= start < end");
        if (text.Channel >= _plan.Channels) throw Reject(StatusCode.InvalidArgument, $"transcript channel {text.Channel} is not below channel_count {_plan.Channels}");
        _transcriptsReceived++;
        var lane = _lanes.FirstOrDefault(l => l.Channel == text.Channel);
        if (lane?.Transcripts is null) return true;
        var segment = new TranscriptSegment(text.Text, TimeSpan.FromMilliseconds(text.StartOffsetMs), TimeSpan.FromMilliseconds(text.EndOffsetMs),
            text.IsFinal, text.IsFinal ? 1.0 : 0.5);
        if (!lane.Transcripts.Writer.TryWrite(segment))
            throw Reject(StatusCode.ResourceExhausted,
                $"more than {_server.Options.Limits.MaxPendingTranscripts} transcript segments wait for their audio (limits.max_pending_transcripts)");
        return true;
    }

    private StreamingRecognizeResponse Summary(Tally tally, InputEnd end, TimeSpan wall, ISessionPublisher publisher)
    {
        var summary = new SessionSummary
        {
            Reason = end.Reason,
            Detail = end.Status.StatusCode == StatusCode.OK ? "" : end.Status.Detail,
            AudioDurationMs = _position * 1000 / _plan.SampleRate,
            WallDurationMs = (long)wall.TotalMilliseconds,
            Results = tally.Results,
            FinalResults = tally.Finals,
            SpeechEvents = tally.SpeechEvents,
            FramesReceived = (ulong)_framesReceived,
            FramesUndecodable = (ulong)(_video?.Undecodable ?? 0),
            TranscriptsReceived = (ulong)_transcriptsReceived,
            LatencyP50Ms = tally.LatencyPercentile(50),
            LatencyP95Ms = tally.LatencyPercentile(95),
            ModelVersion = _server.Runtime.Bundle.ModelVersion,
        };
        summary.AnalysedChannels.AddRange(_plan.AnalysedChannels);
        foreach (var (name, dropped) in _lanes.SelectMany(l => l.Stats.Drops).GroupBy(p => p.Key).Select(g => (g.Key, g.Sum(p => p.Value))))
            if (dropped > 0) summary.Dropped[name] = (ulong)dropped;
        // Events that did not reach the other replicas (a bus outage): the caller got them all the same.
        if (publisher.Dropped > 0) summary.Dropped["bus"] = (ulong)publisher.Dropped;
        return new StreamingRecognizeResponse { SessionId = SessionId, Summary = summary };
    }

    private static RpcException Reject(StatusCode code, string message) => new(new Status(code, message));

    private sealed record InputEnd(EndReason Reason, Status Status);

    private sealed record Lane(uint Channel, PushAudioSource Audio, Channel<TranscriptSegment>? Transcripts, PushVideoSource? Video)
    {
        public LiveStats Stats { get; } = new();
    }

    /// <summary>What the caller's events amounted to: counts and latencies of every result, sent to it or not.</summary>
    private sealed class Tally
    {
        private readonly List<uint> _latencies = [];

        public ulong Results { get; private set; }

        public ulong Finals { get; private set; }

        public ulong SpeechEvents { get; private set; }

        public void Add(StreamingRecognizeResponse e)
        {
            if (e.Result is { } result)
            {
                Results++;
                if (result.IsFinal) Finals++;
                _latencies.Add(result.LatencyMs);
            }
            else if (e.SpeechEvent is not null)
            {
                SpeechEvents++;
            }
        }

        public float LatencyPercentile(double percent)
        {
            if (_latencies.Count == 0) return 0;
            var sorted = _latencies.Order().ToList();
            return sorted[Math.Clamp((int)Math.Ceiling(percent / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];
        }
    }

    /// <summary>A lane's events into the stream's merged channel; it needs every event, so a full channel waits.</summary>
    private sealed class ForwardSink(ChannelWriter<StreamingRecognizeResponse> merged, CancellationToken token) : IEventSink
    {
        public bool NeedsEveryEvent => true;

        public async Task RunAsync(ChannelReader<StreamingRecognizeResponse> events, CancellationToken cancellationToken)
        {
            await foreach (var e in events.ReadAllAsync(token).ConfigureAwait(false))
                await merged.WriteAsync(e, token).ConfigureAwait(false);
        }
    }
}
