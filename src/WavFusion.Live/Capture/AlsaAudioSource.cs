using System.Threading.Channels;
using WavFusion.Live.Pipeline;
using WavFusion.Media;

namespace WavFusion.Live.Capture;

/// <summary>
/// Microphone capture on Linux through libasound: the device's native rate, format and channels, read a period
/// at a time on a dedicated thread and converted to 16 kHz mono chunks by <see cref="CaptureConverter"/>.
/// Overruns are recovered with snd_pcm_recover and counted. Cancellation stops the thread within one wait
/// (<see cref="WaitMs"/>) plus one period. Elsewhere than Linux, or without libasound, it fails with an error saying so.
/// </summary>
public sealed class AlsaAudioSource : IAudioSource
{
    /// <summary>Longest the capture thread sleeps in snd_pcm_wait before looking at its cancellation token.</summary>
    public const int WaitMs = 20;

    private readonly MicrophoneOptions _options;
    private readonly AlsaHardwareRequest _request;
    private Thread? _thread;

    public AlsaAudioSource(MicrophoneOptions options, AlsaHardwareRequest? request = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Device)) throw new ArgumentException("microphone.device must name an ALSA PCM (\"default\" for the system default)", nameof(options));
        if (options.ChunkMs <= 0) throw new ArgumentOutOfRangeException(nameof(options), options.ChunkMs, "microphone.chunk_ms must be positive");
        _options = options;
        _request = request ?? new AlsaHardwareRequest();
    }

    public string Name => _options.Device;

    public bool Realtime => true;

    public CaptureCounters Counters { get; } = new();

    /// <summary>What the device gave, once <see cref="RunAsync"/> has opened it.</summary>
    public CaptureFormat? DeviceFormat { get; private set; }

    /// <summary>Whether libasound can be loaded on this machine, and why not.</summary>
    public static bool IsAvailable(out string reason) => AlsaNative.IsAvailable(out reason);

    /// <summary>
    /// Opens the device and captures on a new background thread until cancelled (a normal end) or the channel is
    /// completed. The task faults with an <see cref="IOException"/> naming the device if it cannot be opened or
    /// fails beyond recovery; the channel is completed with that error too.
    /// </summary>
    public Task RunAsync(ChannelWriter<AudioChunk> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_thread is not null) throw new InvalidOperationException($"{Name}: capture already started");
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // A dedicated thread: a blocked or busy thread-pool thread must never delay a microphone read.
        _thread = new Thread(() => Capture(output, done, cancellationToken))
        {
            IsBackground = true,
            Name = $"ALSA capture {Name}",
        };
        _thread.Start();
        return done.Task;
    }

    public ValueTask DisposeAsync()
    {
        // RunAsync's thread owns the PCM and closes it on the way out; cancellation is how callers stop it.
        return ValueTask.CompletedTask;
    }

    private void Capture(ChannelWriter<AudioChunk> output, TaskCompletionSource done, CancellationToken cancellationToken)
    {
        Exception? error = null;
        try
        {
            if (!AlsaNative.IsAvailable(out var reason)) throw new IOException($"{Name}: cannot open ALSA capture device: {reason}");
            using var pcm = AlsaPcm.Open(Name, _request);
            DeviceFormat = pcm.Format;
            var converter = new CaptureConverter(pcm.Format, _options.ChunkMs * AudioChunk.SampleRate / 1000);
            ReadLoop(pcm, pcm.PeriodFrames, converter, output, Counters, Name, cancellationToken);
        }
        catch (Exception e)
        {
            error = e;
        }
        output.TryComplete(error);
        if (error is null) done.SetResult();
        else done.SetException(error);
    }

    /// <summary>Reads periods until cancelled or the channel is completed, recovering from overruns.</summary>
    internal static void ReadLoop(IAlsaPcm pcm, int periodFrames, CaptureConverter converter, ChannelWriter<AudioChunk> output,
        CaptureCounters counters, string device, CancellationToken cancellationToken)
    {
        int frameBytes = converter.Input.BytesPerFrame;
        var buffer = new byte[periodFrames * frameBytes];
        var chunks = new List<AudioChunk>();
        while (!cancellationToken.IsCancellationRequested)
        {
            int ready = pcm.Wait(WaitMs);
            if (ready < 0)
            {
                Recover(pcm, ready, counters, device);
                continue;
            }
            if (ready == 0) continue;
            long frames = pcm.Read(buffer, periodFrames);
            if (frames == -AlsaNative.EAGAIN) continue;
            if (frames < 0)
            {
                Recover(pcm, (int)frames, counters, device);
                continue;
            }
            if (frames == 0)
            {
                // Only plugins that run dry return nothing (the file plugin at the end of its infile); a real device
                // blocks in snd_pcm_wait. Sleep rather than spin a core until cancelled.
                cancellationToken.WaitHandle.WaitOne(WaitMs);
                continue;
            }
            converter.Write(buffer.AsSpan(0, (int)frames * frameBytes), chunks);
            foreach (var chunk in chunks)
                if (!CaptureOutput.Offer(output, chunk, counters)) return;
            chunks.Clear();
        }
    }

    private static void Recover(IAlsaPcm pcm, int err, CaptureCounters counters, string device)
    {
        // The samples lost in an overrun are gone: stream time keeps counting delivered samples, so it runs behind
        // the wall clock by the gap, which the overrun counter reports.
        if (err == -AlsaNative.EPIPE) counters.Overrun();
        int recovered = pcm.Recover(err);
        if (recovered < 0) throw new IOException($"{device}: ALSA capture failed: {pcm.Describe(err)}");
    }
}
