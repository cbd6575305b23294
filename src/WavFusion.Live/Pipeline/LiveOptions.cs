using System.Text.Json;
using System.Text.Json.Serialization;
using WavFusion.Core.Quantization;

namespace WavFusion.Live.Pipeline;

/// <summary>
/// The live runtime's configuration (config/live.json): every channel's policy in one place, then each stage's
/// settings. Unknown fields are errors, so a misspelt setting is not silently ignored.
/// </summary>
public sealed record LiveOptions
{
    [JsonPropertyName("channels")] public ChannelPolicies Channels { get; init; } = new();
    /// <summary>Keys starting with "//" are comments; any other unknown key is an error (see <see cref="Validate"/>).</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Comments { get; init; }
    [JsonPropertyName("microphone")] public MicrophoneOptions Microphone { get; init; } = new();
    [JsonPropertyName("camera")] public CameraOptions Camera { get; init; } = new();
    [JsonPropertyName("vad")] public VadOptions Vad { get; init; } = new();
    [JsonPropertyName("windows")] public WindowOptions Windows { get; init; } = new();
    [JsonPropertyName("faces")] public FaceOptions Faces { get; init; } = new();
    [JsonPropertyName("batcher")] public BatcherOptions Batcher { get; init; } = new();
    [JsonPropertyName("asr")] public AsrConfig Asr { get; init; } = new();

    private static readonly JsonSerializerOptions Json = new()
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Reads and checks <paramref name="path"/>; errors name the file and the field.</summary>
    public static LiveOptions Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: live configuration not found", path);
        LiveOptions options;
        try
        {
            options = JsonSerializer.Deserialize<LiveOptions>(File.ReadAllText(path), Json)
                      ?? throw new InvalidDataException($"{path}: empty configuration");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
        options.Validate(path);
        return options;
    }

    public void Validate(string source)
    {
        foreach (var key in Comments?.Keys ?? Enumerable.Empty<string>())
            if (!key.StartsWith("//", StringComparison.Ordinal)) throw new InvalidDataException($"{source}: unknown field '{key}'");
        foreach (var (name, policy) in Channels.All())
            if (policy.Capacity <= 0) throw new InvalidDataException($"{source}: channels.{name}.capacity must be positive, got {policy.Capacity}");
        Positive(source, "windows.window_ms", Windows.WindowMs);
        Positive(source, "windows.hop_ms", Windows.HopMs);
        Positive(source, "windows.max_utterance_ms", Windows.MaxUtteranceMs);
        Positive(source, "batcher.max_batch", Batcher.MaxBatch);
        if (Batcher.MaxWaitMs < 0) throw new InvalidDataException($"{source}: batcher.max_wait_ms must not be negative, got {Batcher.MaxWaitMs}");
        if (Vad.Threshold is <= 0 or >= 1 || Vad.NegativeThreshold is <= 0 or >= 1 || Vad.NegativeThreshold > Vad.Threshold)
            throw new InvalidDataException($"{source}: vad.threshold ({Vad.Threshold}) and vad.negative_threshold ({Vad.NegativeThreshold}) must lie in (0, 1), the negative one not above the other");
        if (Camera.MaxFps <= 0) throw new InvalidDataException($"{source}: camera.max_fps must be positive, got {Camera.MaxFps}");
        Positive(source, "camera.retry_initial_ms", Camera.RetryInitialMs);
        if (Camera.RetryMaxMs < Camera.RetryInitialMs)
            throw new InvalidDataException($"{source}: camera.retry_max_ms ({Camera.RetryMaxMs}) must not be below camera.retry_initial_ms ({Camera.RetryInitialMs})");
        if (Camera.FileRetries < 0) throw new InvalidDataException($"{source}: camera.file_retries must not be negative, got {Camera.FileRetries}");
        if (Faces.Margin is < 0 or > 2) throw new InvalidDataException($"{source}: faces.margin must lie in [0, 2], got {Faces.Margin}");
        if (Faces.Fps <= 0) throw new InvalidDataException($"{source}: faces.fps must be positive, got {Faces.Fps}");
        if (!WeightFormats.Names.Contains(Asr.Weights))
            throw new InvalidDataException($"{source}: asr.weights must be one of {string.Join(", ", WeightFormats.Names)}, got '{Asr.Weights}'");
    }

    private static void Positive(string source, string field, int value)
    {
        if (value <= 0) throw new InvalidDataException($"{source}: {field} must be positive, got {value}");
    }
}

/// <summary>Each channel of the pipeline and its policy: capture paths drop the oldest data, push paths wait.</summary>
public sealed record ChannelPolicies
{
    /// <summary>Microphone → resampled 16 kHz chunks (capture: drop oldest).</summary>
    [JsonPropertyName("audio_capture")] public ChannelPolicy AudioCapture { get; init; } = new() { Capacity = 256, FullMode = FullMode.DropOldest };
    /// <summary>Camera → frames (capture: drop oldest).</summary>
    [JsonPropertyName("video_capture")] public ChannelPolicy VideoCapture { get; init; } = new() { Capacity = 8, FullMode = FullMode.DropOldest };
    /// <summary>gRPC push → audio (push: backpressure).</summary>
    [JsonPropertyName("audio_push")] public ChannelPolicy AudioPush { get; init; } = new() { Capacity = 64, FullMode = FullMode.Wait };
    /// <summary>VAD → window assembler and transcriber.</summary>
    [JsonPropertyName("voiced_audio")] public ChannelPolicy VoicedAudio { get; init; } = new() { Capacity = 256, FullMode = FullMode.Wait };
    /// <summary>VAD → transcriber (the transcriber catches up by widening its steps; if it falls further behind, the oldest audio goes).</summary>
    [JsonPropertyName("transcriber_audio")] public ChannelPolicy TranscriberAudio { get; init; } = new() { Capacity = 1024, FullMode = FullMode.DropOldest };
    /// <summary>Faces → face features.</summary>
    [JsonPropertyName("faces")] public ChannelPolicy Faces { get; init; } = new() { Capacity = 8, FullMode = FullMode.DropOldest };
    /// <summary>Window assembler → inference batcher.</summary>
    [JsonPropertyName("windows")] public ChannelPolicy Windows { get; init; } = new() { Capacity = 32, FullMode = FullMode.Wait };
    /// <summary>A session's scoring → its sinks' fan-out (which never waits, so this never fills for long).</summary>
    [JsonPropertyName("session_events")] public ChannelPolicy SessionEvents { get; init; } = new() { Capacity = 256, FullMode = FullMode.Wait };
    /// <summary>Events → each sink (a slow sink loses events, counted).</summary>
    [JsonPropertyName("events")] public ChannelPolicy Events { get; init; } = new() { Capacity = 256, FullMode = FullMode.DropOldest };

    public IEnumerable<(string Name, ChannelPolicy Policy)> All() =>
    [
        ("audio_capture", AudioCapture), ("video_capture", VideoCapture), ("audio_push", AudioPush), ("voiced_audio", VoicedAudio),
        ("transcriber_audio", TranscriberAudio), ("faces", Faces), ("windows", Windows), ("session_events", SessionEvents), ("events", Events),
    ];
}

public sealed record MicrophoneOptions
{
    /// <summary>ALSA PCM name (Linux) or WASAPI endpoint name (Windows); "default" takes the system default.</summary>
    [JsonPropertyName("device")] public string Device { get; init; } = "default";
    /// <summary>Length of each delivered chunk.</summary>
    [JsonPropertyName("chunk_ms")] public int ChunkMs { get; init; } = 32;
}

public sealed record CameraOptions
{
    /// <summary>Frames per second at most; faster cameras are sampled down.</summary>
    [JsonPropertyName("max_fps")] public double MaxFps { get; init; } = 15;
    /// <summary>First and last wait before reopening a camera that disconnected (doubling in between).</summary>
    [JsonPropertyName("retry_initial_ms")] public int RetryInitialMs { get; init; } = 500;
    [JsonPropertyName("retry_max_ms")] public int RetryMaxMs { get; init; } = 10_000;
    /// <summary>A video file standing in for a camera starts again at its end instead of ending the stream.</summary>
    [JsonPropertyName("loop")] public bool Loop { get; init; }
    /// <summary>
    /// A video file standing in for a camera delivers each frame when its timestamp is due (measured from the first
    /// frame), as a camera would, instead of as fast as it decodes. A session paced in real time needs it: its capture
    /// channel drops the oldest frames, so an unpaced file would lose nearly all of them. <c>live</c> turns it on
    /// whenever the audio is live (a microphone, or <c>--realtime</c>). Cameras and URLs are live already.
    /// </summary>
    [JsonPropertyName("pace_files")] public bool PaceFiles { get; init; }
    /// <summary>
    /// Reopen attempts, without a frame in between, for a video file that fails before its reported end (a cut or
    /// damaged file) before the rest of it is taken as lost and the stream ends; live cameras are retried until stopped.
    /// </summary>
    [JsonPropertyName("file_retries")] public int FileRetries { get; init; } = 3;
}

public sealed record VadOptions
{
    /// <summary>Silero VAD ONNX file, relative to the repository or app root.</summary>
    [JsonPropertyName("model")] public string Model { get; init; } = "models/silero-vad/silero_vad.onnx";
    /// <summary>Speech starts when the probability reaches this…</summary>
    [JsonPropertyName("threshold")] public double Threshold { get; init; } = 0.5;
    /// <summary>…and ends when it stays below this for <see cref="MinSilenceMs"/>.</summary>
    [JsonPropertyName("negative_threshold")] public double NegativeThreshold { get; init; } = 0.35;
    [JsonPropertyName("min_speech_ms")] public int MinSpeechMs { get; init; } = 250;
    [JsonPropertyName("min_silence_ms")] public int MinSilenceMs { get; init; } = 300;
}

public sealed record WindowOptions
{
    [JsonPropertyName("window_ms")] public int WindowMs { get; init; } = 4000;
    [JsonPropertyName("hop_ms")] public int HopMs { get; init; } = 1000;
    /// <summary>A final window covers its whole utterance up to this; longer utterances are split.</summary>
    [JsonPropertyName("max_utterance_ms")] public int MaxUtteranceMs { get; init; } = 10_000;
}

public sealed record FaceOptions
{
    /// <summary>Haar cascade file (Debian's opencv-data); used unless <see cref="YuNetModel"/> is set.</summary>
    [JsonPropertyName("haar_cascade")] public string HaarCascade { get; init; } = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml";
    /// <summary>A YuNet face-detection ONNX file (FaceDetectorYN), when the user supplies one.</summary>
    [JsonPropertyName("yunet_model")] public string? YuNetModel { get; init; }
    /// <summary>Faces analysed per second at most.</summary>
    [JsonPropertyName("fps")] public double Fps { get; init; } = 5;
    /// <summary>Margin added on each side of the detected box, as a fraction of the box's side.</summary>
    [JsonPropertyName("margin")] public double Margin { get; init; } = 0.2;
}

public sealed record BatcherOptions
{
    /// <summary>Windows per forward at most (across sessions).</summary>
    [JsonPropertyName("max_batch")] public int MaxBatch { get; init; } = 16;
    /// <summary>How long the first window of a batch waits for company.</summary>
    [JsonPropertyName("max_wait_ms")] public int MaxWaitMs { get; init; } = 10;
    /// <summary>"cpu" or "cuda".</summary>
    [JsonPropertyName("device")] public string Device { get; init; } = "cpu";
    /// <summary>
    /// Also score each sub-path present (audio alone, audio + text, audio + faces) for the events' per-modality
    /// scores; up to three more windows per window, batched with the rest.
    /// </summary>
    [JsonPropertyName("per_modality_scores")] public bool PerModalityScores { get; init; } = true;
    /// <summary>
    /// Per-modality scores on interim results too, not only on final ones. Off by default: it multiplies the model's
    /// work on the sliding windows, which every stream sends each hop, by up to four (bench live measured the doubling
    /// with audio + faces); a final result, one per utterance, carries the breakdown.
    /// </summary>
    [JsonPropertyName("per_modality_interim")] public bool PerModalityInterim { get; init; }
}

public sealed record AsrConfig
{
    /// <summary>
    /// How our Whisper port holds its decoder's weights (the torchsharp backend): "fp32", or "f16"/"int8" for faster CPU
    /// decoding (README, "Weight formats"); <c>--weights</c> overrides it.
    /// </summary>
    [JsonPropertyName("weights")] public string Weights { get; init; } = "fp32";

    public WeightFormat WeightFormat => WeightFormats.Parse(Weights, "asr.weights");
}
