using WavFusion.Inference;
using WavFusion.Live.Asr;
using WavFusion.Live.Batching;
using WavFusion.Live.Capture;
using WavFusion.Live.Events;
using WavFusion.Live.Sinks;
using WavFusion.Live.Stages;
using WavFusion.Media;

namespace WavFusion.Live.Pipeline;

/// <summary>Where the runtime's files are: the model folder, the VAD model, an optional Whisper model.</summary>
public sealed record LiveModels(string ModelFolder, string VadModel, string? Whisper = null, AsrBackendKind Asr = AsrBackendKind.TorchSharp);

/// <summary>
/// The shared part of the live runtime, loaded once: the model bundle, its scorer and the inference batcher all
/// sessions feed, the Silero VAD model, the face detector and the ASR backend. The CLI runs one session on it;
/// the server runs many.
/// </summary>
public sealed class LiveRuntime : IAsyncDisposable
{
    private readonly SileroVadModel _vad;
    private readonly IAsrBackend? _asr;
    private readonly FaceDetector? _faces;

    private LiveRuntime(LiveOptions options, ModelBundle bundle, InferenceBatcher batcher, SileroVadModel vad, IAsrBackend? asr, FaceDetector? faces)
    {
        Options = options;
        Bundle = bundle;
        Batcher = batcher;
        _vad = vad;
        _asr = asr;
        _faces = faces;
    }

    public LiveOptions Options { get; }

    public ModelBundle Bundle { get; }

    public InferenceBatcher Batcher { get; }

    /// <summary>
    /// Loads what every session shares. <paramref name="withFaces"/> loads the face detector (only needed with video);
    /// without <paramref name="asrOptions"/> the recogniser takes its weight format from the config's asr section.
    /// </summary>
    public static LiveRuntime Load(LiveOptions options, LiveModels models, bool withFaces, AsrOptions? asrOptions = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(models);
        var bundle = ModelBundle.Load(models.ModelFolder);
        SileroVadModel? vad = null;
        IAsrBackend? asr = null;
        FaceDetector? faces = null;
        try
        {
            vad = new SileroVadModel(models.VadModel);
            asr = models.Whisper is null ? null : AsrBackends.Load(models.Asr, models.Whisper, asrOptions ?? new AsrOptions { Weights = options.Asr.WeightFormat });
            faces = withFaces && bundle.VisualEncoder is not null ? FaceDetector.Create(options.Faces) : null;
            var batcher = new InferenceBatcher(new WindowScorer(bundle, options.Batcher.MaxBatch), options.Batcher);
            return new LiveRuntime(options, bundle, batcher, vad, asr, faces);
        }
        catch
        {
            faces?.Dispose();
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
    public async Task<LiveStats> RunSessionAsync(string sessionId, IAudioSource audio, IVideoSource? video,
        IReadOnlyList<TranscriptSegment>? clientTranscript, IReadOnlyList<IEventSink> sinks, LiveStats? stats = null,
        TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sinks);
        stats ??= new LiveStats();
        using var detector = new SileroVoiceActivityDetector(_vad, Options.Vad);
        var parts = new SessionParts(Batcher, Bundle, detector, _asr, video is null ? null : _faces, clientTranscript);
        var session = new LiveSession(sessionId, Options, parts, time ?? TimeProvider.System, stats);
        var fanOut = new EventFanOut();
        var sinkTasks = sinks.Select((sink, i) => sink.RunAsync(fanOut.Subscribe($"sink{i}", Options.Channels.Events, stats), CancellationToken.None)).ToList();
        try
        {
            await session.RunAsync(audio, video, fanOut, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            fanOut.Complete();
            await Task.WhenAll(sinkTasks).ConfigureAwait(false);
        }
        return stats;
    }

    public async ValueTask DisposeAsync()
    {
        await Batcher.DisposeAsync().ConfigureAwait(false);
        _faces?.Dispose();
        _asr?.Dispose();
        _vad.Dispose();
        Bundle.Dispose();
    }
}
