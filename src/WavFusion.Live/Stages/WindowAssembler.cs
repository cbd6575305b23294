using System.Threading.Channels;

using WavFusion.Live.Pipeline;
using WavFusion.Media;

namespace WavFusion.Live.Stages;

/// <summary>
/// Cuts a stream's voiced audio into the windows the scorer sees (docs/architecture.md, "Live inference data flow"). Times are stream
/// times counted in samples, so windows line up exactly on the audio's originating time, whatever the chunking.
/// <list type="bullet">
/// <item><b>Utterances</b> follow the shared VAD decision: one begins with the first speech chunk, at the time the
/// decision places the start of speech (which may lie before that chunk: the detector confirms a begin after
/// <c>MinSpeechMs</c>, so the last <see cref="LookBack"/> of non-speech audio is kept to reach it), and ends with the
/// first non-speech chunk, where its decision says the silence began.</item>
/// <item><b>Interim windows</b>, while speech is on, end every <see cref="WindowOptions.HopMs"/> after the
/// utterance start and hold the latest <see cref="WindowOptions.WindowMs"/> of the utterance. The first comes once
/// the utterance has <see cref="MinInterim"/> of audio (less would tell the scorer little and be superseded a hop
/// later); until the utterance is a whole window long they cover the utterance so far (1 s, 2 s, 3 s with the
/// defaults), after that every one has exactly <c>WindowMs</c> of audio, which lets the batcher batch them
/// without padding.</item>
/// <item><b>Final windows</b>: one per utterance when speech ends, over its whole audio; an utterance longer than
/// <see cref="WindowOptions.MaxUtteranceMs"/> is split into final windows of at most that length, each emitted as
/// soon as its audio is in, so no utterance holds more than that much audio.</item>
/// <item>Every window carries the transcript overlapping it and the faces inside it, read from the timelines on
/// stream time when the window is emitted (arrival order does not matter, only what has arrived by then), and the
/// <see cref="TimeProvider"/> timestamp at which the chunk holding its last sample arrived, for latency.</item>
/// </list>
/// Silence gives no windows. Memory is bounded: the current utterance's audio not yet in a final window and the
/// span of the next interim window, or <see cref="LookBack"/> of audio between utterances; timelines are pruned of
/// what no future window can reach. A gap in stream time (capture dropped audio) ends the utterance at the gap.
/// The assembler is the single writer of its output and completes it when its input completes. One per stream.
/// </summary>
public sealed class WindowAssembler
{
    /// <summary>Shortest utterance that gets an interim window (or the window length, if that is shorter).</summary>
    public static readonly TimeSpan MinInterim = TimeSpan.FromSeconds(1);

    /// <summary>Default non-speech audio kept to reach back to a confirmed speech start: MinSpeechMs (250) plus a frame and a chunk, with room.</summary>
    public static readonly TimeSpan DefaultLookBack = TimeSpan.FromSeconds(1);

    private readonly TranscriptTimeline _transcript;
    private readonly FaceTimeline _faces;
    private readonly TimeProvider _time;
    private readonly long _window;
    private readonly long _hop;
    private readonly long _maxUtterance;
    private readonly long _firstInterim;
    private readonly long _lookBack;
    private readonly SampleBuffer _audio = new();
    private readonly Queue<(long End, long Timestamp)> _arrivals = new();

    private bool _started;
    private bool _inUtterance;
    private long _utteranceStart;
    private long _partStart;
    private long _nextInterimEnd;

    public WindowAssembler(WindowOptions options, TranscriptTimeline transcript, FaceTimeline faces, TimeProvider? timeProvider = null, TimeSpan? lookBack = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(transcript);
        ArgumentNullException.ThrowIfNull(faces);
        if (options.WindowMs <= 0 || options.HopMs <= 0 || options.MaxUtteranceMs <= 0)
            throw new ArgumentOutOfRangeException(nameof(options), $"windows.window_ms ({options.WindowMs}), hop_ms ({options.HopMs}) and max_utterance_ms ({options.MaxUtteranceMs}) must be positive");
        LookBack = lookBack ?? DefaultLookBack;
        if (LookBack < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(lookBack), LookBack, "the look-back must not be negative");
        _transcript = transcript;
        _faces = faces;
        _time = timeProvider ?? TimeProvider.System;
        _window = StreamSamples.FromMilliseconds(options.WindowMs);
        _hop = StreamSamples.FromMilliseconds(options.HopMs);
        _maxUtterance = StreamSamples.FromMilliseconds(options.MaxUtteranceMs);
        long minInterim = Math.Min(StreamSamples.FromTime(MinInterim), _window);
        _firstInterim = (minInterim + _hop - 1) / _hop * _hop;
        _lookBack = StreamSamples.FromTime(LookBack);
    }

    /// <summary>
    /// Reserve each emitted window's faces on the face timeline (<see cref="FaceTimeline.Reserve"/>) for a join that reads
    /// them later and releases them: recorded video, joined once analysed past the window's end.
    /// </summary>
    public bool ReserveFaces { get; init; }

    /// <summary>Non-speech audio kept between utterances, so an utterance can start where the detector placed it.</summary>
    public TimeSpan LookBack { get; }

    public long Utterances { get; private set; }

    public long InterimWindows { get; private set; }

    public long FinalWindows { get; private set; }

    /// <summary>Audio samples held now.</summary>
    public int RetainedSamples => _audio.Count;

    /// <summary>Capacity of the audio store, which stops growing once the longest kept span has been seen.</summary>
    public int BufferCapacity => _audio.Capacity;

    /// <summary>Windows only, in order of their end.</summary>
    public Task RunAsync(ChannelReader<VoicedChunk> input, ChannelWriter<EmotionWindow> output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        return RunCoreAsync(input, (item, token) => item is EmotionWindow w ? output.WriteAsync(w, token) : ValueTask.CompletedTask,
            failure => output.TryComplete(failure), cancellationToken);
    }

    /// <summary>
    /// Windows and the speech boundaries between them, in stream order: a begin before the utterance's first window,
    /// an end after its final window. The boundaries follow the same VAD decision as the windows.
    /// </summary>
    public Task RunAsync(ChannelReader<VoicedChunk> input, ChannelWriter<WindowStreamItem> output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        return RunCoreAsync(input, output.WriteAsync, failure => output.TryComplete(failure), cancellationToken);
    }

    private async Task RunCoreAsync(ChannelReader<VoicedChunk> input, Func<WindowStreamItem, CancellationToken, ValueTask> write,
        Action<Exception?> complete, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        Exception? failure = null;
        try
        {
            while (await input.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (input.TryRead(out var voiced))
                {
                    foreach (var item in Add(voiced, _time.GetTimestamp()))
                        await write(item, cancellationToken).ConfigureAwait(false);
                }
            }
            if (_inUtterance)
            {
                foreach (var item in EndUtterance(_audio.End, _time.GetTimestamp())) await write(item, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            failure = e;
            throw;
        }
        finally
        {
            complete(failure);
        }
    }

    /// <summary>Takes one chunk that arrived at <paramref name="arrival"/>; the windows it completes, in order of their end.</summary>
    private List<WindowStreamItem> Add(VoicedChunk voiced, long arrival)
    {
        ArgumentNullException.ThrowIfNull(voiced);
        var windows = new List<WindowStreamItem>();
        var chunk = voiced.Chunk;
        long chunkStart = StreamSamples.FromTime(chunk.StreamTime);
        if (!_started || chunkStart != _audio.End)
        {
            if (_inUtterance) windows.AddRange(EndUtterance(_audio.End, arrival));
            _audio.Restart(chunkStart);
            _arrivals.Clear();
            _started = true;
        }
        _audio.Append(chunk.Samples);
        _arrivals.Enqueue((_audio.End, arrival));

        if (voiced.Activity.IsSpeech)
        {
            if (!_inUtterance) windows.Add(BeginUtterance(StreamSamples.FromTime(voiced.Activity.Start)));
            EmitDue(windows);
        }
        else if (_inUtterance)
        {
            windows.AddRange(EndUtterance(StreamSamples.FromTime(voiced.Activity.Start), arrival));
        }
        Forget();
        return windows;
    }

    private SpeechBoundary BeginUtterance(long start)
    {
        _inUtterance = true;
        Utterances++;
        _utteranceStart = Math.Clamp(start, _audio.Start, _audio.End);
        _partStart = _utteranceStart;
        _nextInterimEnd = _utteranceStart + _firstInterim;
        return new SpeechBoundary(true, StreamSamples.ToTime(_utteranceStart));
    }

    /// <summary>Interim windows and full-length final parts whose audio is all in, earliest end first.</summary>
    private void EmitDue(List<WindowStreamItem> windows)
    {
        while (true)
        {
            long partEnd = _partStart + _maxUtterance;
            if (Math.Min(_nextInterimEnd, partEnd) > _audio.End) return;
            if (_nextInterimEnd <= partEnd)
            {
                windows.Add(Window(Math.Max(_utteranceStart, _nextInterimEnd - _window), _nextInterimEnd, isFinal: false));
                _nextInterimEnd += _hop;
            }
            else
            {
                windows.Add(Window(_partStart, partEnd, isFinal: true));
                _partStart = partEnd;
            }
        }
    }

    /// <summary>
    /// The final windows of the utterance ending at stream sample <paramref name="end"/> (not before what earlier parts
    /// covered), then its end boundary; <paramref name="decidedAt"/> is when the end was known (the windows' ready time).
    /// </summary>
    private List<WindowStreamItem> EndUtterance(long end, long decidedAt)
    {
        _inUtterance = false;
        end = Math.Clamp(end, _partStart, _audio.End);
        var windows = new List<WindowStreamItem>();
        while (end - _partStart > _maxUtterance)
        {
            windows.Add(Window(_partStart, _partStart + _maxUtterance, isFinal: true, decidedAt));
            _partStart += _maxUtterance;
        }
        if (end > _partStart) windows.Add(Window(_partStart, end, isFinal: true, decidedAt));
        windows.Add(new SpeechBoundary(false, StreamSamples.ToTime(end)));
        return windows;
    }

    /// <summary>A window of the audio between the stream samples; ready when its last sample arrived unless <paramref name="readyAt"/> says later.</summary>
    private EmotionWindow Window(long start, long end, bool isFinal, long? readyAt = null)
    {
        if (isFinal) FinalWindows++;
        else InterimWindows++;
        var startTime = StreamSamples.ToTime(start);
        var endTime = StreamSamples.ToTime(end);
        long arrived = ArrivalOf(end);
        if (ReserveFaces) _faces.Reserve(startTime);
        return new EmotionWindow(startTime, endTime, _audio.Copy(start, end), isFinal,
            _transcript.TextBetween(startTime, endTime), _faces.Between(startTime, endTime), arrived, readyAt ?? arrived);
    }

    /// <summary>When the chunk holding the sample just before <paramref name="end"/> arrived.</summary>
    private long ArrivalOf(long end)
    {
        foreach (var (chunkEnd, timestamp) in _arrivals)
            if (chunkEnd >= end) return timestamp;
        return _arrivals.Count > 0 ? _arrivals.Last().Timestamp : _time.GetTimestamp();
    }

    /// <summary>Drops the audio, arrival times, faces and transcript that no future window can reach.</summary>
    private void Forget()
    {
        long keepFrom = _inUtterance
            ? Math.Min(_partStart, Math.Max(_utteranceStart, _nextInterimEnd - _window))
            : _audio.End - _lookBack;
        _audio.DropBefore(keepFrom);
        while (_arrivals.Count > 1 && _arrivals.Peek().End <= _audio.Start) _arrivals.Dequeue();
        var keepTime = StreamSamples.ToTime(_audio.Start);
        _faces.PruneBefore(keepTime);
        _transcript.PruneBefore(keepTime);
    }
}
