using System.Runtime.Versioning;
using System.Threading.Channels;
using NAudio.CoreAudioApi;
using NAudio.Wave;
using WavFusion.Live.Pipeline;
using WavFusion.Media;

namespace WavFusion.Live.Capture;

/// <summary>
/// Microphone capture on Windows through WASAPI (NAudio's <see cref="WasapiRecorder"/>, shared mode, event-driven):
/// the endpoint's mix format, converted to 16 kHz mono chunks by the same <see cref="CaptureConverter"/> as ALSA.
/// NAudio reads on its own capture thread (MMCSS priority) and raises DataAvailable there; conversion and delivery
/// happen on that thread. A jump in the device position is a glitch, counted as an overrun. Compiles everywhere;
/// untested on Windows so far (no Windows build machine).
/// </summary>
[SupportedOSPlatform("windows")]
public sealed class WasapiAudioSource : IAudioSource
{
    private readonly MicrophoneOptions _options;
    private WasapiRecorder? _recorder;

    public WasapiAudioSource(MicrophoneOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ChunkMs <= 0) throw new ArgumentOutOfRangeException(nameof(options), options.ChunkMs, "microphone.chunk_ms must be positive");
        _options = options;
    }

    public string Name => _options.Device;

    public bool Realtime => true;

    public CaptureCounters Counters { get; } = new();

    /// <summary>What the endpoint gave, once the first packet has arrived.</summary>
    public CaptureFormat? DeviceFormat { get; private set; }

    public Task RunAsync(ChannelWriter<AudioChunk> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_recorder is not null) throw new InvalidOperationException($"{Name}: capture already started");
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        WasapiRecorder recorder;
        try
        {
            using var enumerator = new MMDeviceEnumerator();
            // A 20 ms buffer makes each packet a short read, like an ALSA period.
            recorder = new WasapiRecorderBuilder().WithDevice(FindDevice(enumerator, Name)).WithSharedMode().WithEventSync()
                .WithBufferLength(20).Build();
        }
        catch (Exception e) when (e is not IOException)
        {
            var error = new IOException($"{Name}: cannot open WASAPI capture device: {e.Message}", e);
            output.TryComplete(error);
            return Task.FromException(error);
        }
        _recorder = recorder;

        int chunkSamples = _options.ChunkMs * AudioChunk.SampleRate / 1000;
        CaptureConverter? converter = null;
        var chunks = new List<AudioChunk>();
        long? expectedPosition = null;
        bool channelOpen = true;
        recorder.DataAvailable += (buffer, _, devicePosition, _) =>
        {
            if (!channelOpen) return;
            // The mix format is settled once the audio client is initialised, which StartRecording does.
            converter ??= new CaptureConverter((DeviceFormat = ToCaptureFormat(Name, recorder.WaveFormat)).Value, chunkSamples);
            if (expectedPosition is { } expected && devicePosition != expected) Counters.Overrun();
            expectedPosition = devicePosition + buffer.Length / converter.Input.BytesPerFrame;
            converter.Write(buffer, chunks);
            foreach (var chunk in chunks)
            {
                if (CaptureOutput.Offer(output, chunk, Counters)) continue;
                channelOpen = false;
                recorder.StopRecording();
                break;
            }
            chunks.Clear();
        };
        recorder.RecordingStopped += (_, e) =>
        {
            var error = e.Exception is null ? null : new IOException($"{Name}: WASAPI capture failed: {e.Exception.Message}", e.Exception);
            output.TryComplete(error);
            if (error is null) done.TrySetResult();
            else done.TrySetException(error);
        };
        var registration = cancellationToken.Register(recorder.StopRecording);
        _ = done.Task.ContinueWith(_ => registration.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        recorder.StartRecording();
        return done.Task;
    }

    public ValueTask DisposeAsync()
    {
        _recorder?.Dispose();
        _recorder = null;
        return ValueTask.CompletedTask;
    }

    private static MMDevice FindDevice(MMDeviceEnumerator enumerator, string name)
    {
        if (name == "default") return enumerator.GetDefaultAudioEndpoint(DataFlow.Capture, Role.Communications);
        foreach (var device in enumerator.EnumerateAudioEndPoints(DataFlow.Capture, DeviceState.Active))
            if (device.ID == name || string.Equals(device.FriendlyName, name, StringComparison.OrdinalIgnoreCase)) return device;
        throw new IOException($"{name}: no active WASAPI capture endpoint with this name or id");
    }

    /// <summary>The WAVE format WASAPI shares (normally 32-bit float) as a converter input.</summary>
    internal static CaptureFormat ToCaptureFormat(string name, WaveFormat format)
    {
        bool isFloat = format.Encoding == WaveFormatEncoding.IeeeFloat
                       || (format is WaveFormatExtensible ext && ext.SubFormat == AudioMediaSubtypes.MEDIASUBTYPE_IEEE_FLOAT);
        bool isPcm = format.Encoding == WaveFormatEncoding.Pcm
                     || (format is WaveFormatExtensible pcm && pcm.SubFormat == AudioMediaSubtypes.MEDIASUBTYPE_PCM);
        CaptureSampleFormat sample = (isFloat, isPcm, format.BitsPerSample) switch
        {
            (true, _, 32) => CaptureSampleFormat.F32,
            (_, true, 16) => CaptureSampleFormat.S16,
            (_, true, 24) => CaptureSampleFormat.S24Packed,
            (_, true, 32) => CaptureSampleFormat.S32,
            _ => throw new IOException($"{name}: WASAPI format {format} cannot be captured"),
        };
        return new CaptureFormat(format.SampleRate, format.Channels, sample);
    }
}
