using System.Threading.Channels;
using WavFusion.Api.V1;
using WavFusion.Inference;
using WavFusion.Live.Asr;
using WavFusion.Live.Batching;
using WavFusion.Live.Capture;
using WavFusion.Live.Events;
using WavFusion.Live.Sinks;
using WavFusion.Live.Stages;
using WavFusion.Media;

namespace WavFusion.Live.Pipeline;

/// <summary>
/// One session's inputs: its audio, optional video, the client's timed text (known before the stream, or fed while it
/// runs), the channel of the caller's stream it analyses (events carry it) and, when the caller chose them, its own
/// window length and hop.
/// </summary>
public sealed record SessionSetup(string SessionId, IAudioSource Audio)
{
    public IVideoSource? Video { get; init; }

    public IReadOnlyList<TranscriptSegment>? ClientTranscript { get; init; }

    public ChannelReader<TranscriptSegment>? ClientTranscriptFeed { get; init; }

    public uint Channel { get; init; }

    public WindowOptions? Windows { get; init; }
}

/// <summary>Where the runtime's files are: the model folder, the VAD model, an optional Whisper model.</summary>
public sealed record LiveModels(string ModelFolder, string VadModel, string? Whisper = null, AsrBackendKind Asr = AsrBackendKind.TorchSharp);

/// <summary>
/// The shared part of the live runtime, loaded once: the model bundle, its scorer and the inference batcher all
/// sessions feed, the Silero VAD model and the ASR backend (each session makes its own face detector). The CLI runs one session on it;
/// the server runs many.
/// </summary>
public sealed class LiveRuntime : IAsyncDisposable
{
    private readonly SileroVadModel _vad;
    private readonly IAsrBackend? _asr;
    private readonly bool _withFaces;

    private LiveRuntime(LiveOptions options, ModelBundle bundle, InferenceBatcher batcher, SileroVadModel vad, IAsrBackend? asr, bool withFaces)
    {
        Options = options;
        Bundle = bundle;
        Batcher = batcher;
        _vad = vad;
        _asr = asr;
        _withFaces = withFaces;
    }

    public LiveOptions Options { get; }

    public ModelBundle Bundle { get; }

    public InferenceBatcher Batcher { get; }

    /// <summary>Whether sessions transcribe their audio themselves (a Whisper model was loaded).</summary>
    public bool TranscribesAudio => _asr is not null;

    /// <summary>Whether sessions given video analyse faces: the runtime was loaded with faces and the bundle has an image encoder.</summary>
    public bool AnalysesFaces => _withFaces;

    /// <summary>
    /// Loads what every session shares. <paramref name="withFaces"/>: sessions with video look for faces (the detector
    /// file is checked here); without <paramref name="asrOptions"/> the recogniser takes its weight format from the
    /// config's asr section.
    /// </summary>
    public static LiveRuntime Load(LiveOptions options, LiveModels models, bool withFaces, AsrOptions? asrOptions = null) =>
        Load(options, models, withFaces, given: null, asrOptions);

    /// <summary>
    /// Loads what every session shares around a recogniser the caller has built (<paramref name="models"/>'s Whisper
    /// is ignored): one that is not a model file, such as `bench live`'s random-weight Whisper. The runtime owns
    /// <paramref name="asr"/> from here and disposes it, also when loading fails.
    /// </summary>
    public static LiveRuntime Load(LiveOptions options, LiveModels models, bool withFaces, IAsrBackend asr)
    {
        ArgumentNullException.ThrowIfNull(asr);
        return Load(options, models, withFaces, asr, asrOptions: null);
    }

    private static LiveRuntime Load(LiveOptions options, LiveModels models, bool withFaces, IAsrBackend? given, AsrOptions? asrOptions)
    {
        ModelBundle bundle;
        try
        {
            ArgumentNullException.ThrowIfNull(options);
            ArgumentNullException.ThrowIfNull(models);
            bundle = ModelBundle.Load(models.ModelFolder);
        }
        catch
        {
            given?.Dispose();
            throw;
        }
        SileroVadModel? vad = null;
        IAsrBackend? asr = given;
        try
        {
            vad = new SileroVadModel(models.VadModel);
            asr ??= models.Whisper is null ? null : AsrBackends.Load(models.Asr, models.Whisper, asrOptions ?? new AsrOptions { Weights = options.Asr.WeightFormat });
            // OpenCV's detectors may not be shared between threads, so each session makes its own; one is made here
            // only so that a missing or unreadable detector file fails at load, naming it, not in the first session.
            withFaces = withFaces && bundle.VisualEncoder is not null;
            if (withFaces) FaceDetector.Create(options.Faces).Dispose();
            var batcher = new InferenceBatcher(new WindowScorer(bundle, options.Batcher.MaxBatch), options.Batcher);
            return new LiveRuntime(options, bundle, batcher, vad, asr, withFaces);
        }
        catch
        {
            asr?.Dispose();
            vad?.Dispose();
            bundle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs one session from <paramref name="audio"/> (and <paramref name="video"/>) to <paramref name="sinks"/> until the
    /// audio ends or <paramref name="cancellationToken"/> fires; returns what it counted.
    /// </summary>
    public Task<LiveStats> RunSessionAsync(string sessionId, IAudioSource audio, IVideoSource? video,
        IReadOnlyList<TranscriptSegment>? clientTranscript, IReadOnlyList<IEventSink> sinks, LiveStats? stats = null,
        TimeProvider? time = null, CancellationToken cancellationToken = default) =>
        RunSessionAsync(new SessionSetup(sessionId, audio) { Video = video, ClientTranscript = clientTranscript }, sinks, stats, time, cancellationToken);

    /// <summary>
    /// Runs the session <paramref name="setup"/> describes until its audio ends or <paramref name="cancellationToken"/>
    /// fires; returns what it counted. Sinks drop their oldest events when slow (the "events" policy), except one that
    /// <see cref="IEventSink.NeedsEveryEvent"/>, whose channel waits (the "session_events" policy).
    /// </summary>
    public async Task<LiveStats> RunSessionAsync(SessionSetup setup, IReadOnlyList<IEventSink> sinks, LiveStats? stats = null,
        TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(setup);
        ArgumentNullException.ThrowIfNull(sinks);
        stats ??= new LiveStats();
        var options = setup.Windows is null ? Options : Options with { Windows = setup.Windows };
        using var detector = new SileroVoiceActivityDetector(_vad, Options.Vad);
        // OpenCV's detectors may not be shared between threads: each session with video gets its own.
        using var faces = setup.Video is not null && _withFaces ? FaceDetector.Create(Options.Faces) : null;
        var parts = new SessionParts(Batcher, Bundle, detector, _asr, faces, setup.ClientTranscript, setup.ClientTranscriptFeed, setup.Channel);
        var session = new LiveSession(setup.SessionId, options, parts, time ?? TimeProvider.System, stats);
        var fanOut = new EventFanOut();
        var sinkTasks = sinks.Select((sink, i) =>
        {
            var reader = fanOut.Subscribe($"sink{i}", sink.NeedsEveryEvent ? Options.Channels.SessionEvents : Options.Channels.Events, stats);
            return SinkAsync(sink, reader, fanOut);
        }).ToList();
        try
        {
            await session.RunAsync(setup.Audio, setup.Video, fanOut, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            fanOut.Complete();
            await Task.WhenAll(sinkTasks).ConfigureAwait(false);
        }
        return stats;
    }

    private static async Task SinkAsync(IEventSink sink, ChannelReader<StreamingRecognizeResponse> events, EventFanOut fanOut)
    {
        try
        {
            await sink.RunAsync(events, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            fanOut.Complete(events);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Batcher.DisposeAsync().ConfigureAwait(false);
        _asr?.Dispose();
        _vad.Dispose();
        Bundle.Dispose();
    }
}
