using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using WavFusion.Media;

namespace WavFusion.Live.Capture;

/// <summary>
/// The audio of any file ffmpeg reads (audio or video), decoded as a stream by an ffmpeg process to 16 kHz mono
/// float and delivered in chunks of <see cref="ChunkMs"/> on a dedicated thread. <c>realtime</c> paces chunk i to
/// start + i × chunk length on a <see cref="Stopwatch"/>, as a microphone would deliver it (offered without waiting;
/// a full waiting channel's refusals are counted); otherwise chunks go as fast as the channel takes them.
/// </summary>
public sealed class AudioFileSource : IAudioSource
{
    private readonly bool _realtime;
    private Thread? _thread;

    public AudioFileSource(string path, bool realtime, int chunkMs = 32)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (chunkMs <= 0) throw new ArgumentOutOfRangeException(nameof(chunkMs), chunkMs, "chunk length must be positive");
        Name = path;
        ChunkMs = chunkMs;
        _realtime = realtime;
    }

    public string Name { get; }

    public bool Realtime => _realtime;

    public int ChunkMs { get; }

    public CaptureCounters Counters { get; } = new();

    /// <summary>
    /// Decodes and delivers until the file ends (the last chunk may be shorter) or cancellation (a normal end).
    /// A file that is missing or holds no audio faults the task with an error naming it.
    /// </summary>
    public Task RunAsync(ChannelWriter<AudioChunk> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_thread is not null) throw new InvalidOperationException($"{Name}: already started");
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _thread = new Thread(() => Run(output, done, cancellationToken))
        {
            IsBackground = true,
            Name = $"file audio {Path.GetFileName(Name)}",
        };
        _thread.Start();
        return done.Task;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private void Run(ChannelWriter<AudioChunk> output, TaskCompletionSource done, CancellationToken cancellationToken)
    {
        Exception? error = null;
        try
        {
            Decode(output, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            error = e;
        }
        output.TryComplete(error);
        if (error is null) done.SetResult();
        else done.SetException(error);
    }

    private void Decode(ChannelWriter<AudioChunk> output, CancellationToken cancellationToken)
    {
        if (!File.Exists(Name)) throw new FileNotFoundException($"{Name}: audio file not found", Name);
        int chunkSamples = ChunkMs * AudioChunk.SampleRate / 1000;
        var converter = new CaptureConverter(new CaptureFormat(AudioChunk.SampleRate, 1, CaptureSampleFormat.F32), chunkSamples);
        using var ffmpeg = StartFfmpeg();
        var stderr = ffmpeg.StandardError.ReadToEndAsync(CancellationToken.None);
        // Killing ffmpeg ends a read that waits on a slow decode, so cancellation is seen at once.
        using var kill = cancellationToken.Register(() => KillQuietly(ffmpeg));

        var stdout = ffmpeg.StandardOutput.BaseStream;
        var buffer = new byte[chunkSamples * sizeof(float)];
        var chunks = new List<AudioChunk>();
        var clock = new Stopwatch();
        long index = 0;
        bool open = true;
        while (open && !cancellationToken.IsCancellationRequested)
        {
            int read = stdout.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            // f32le from ffmpeg is whole samples except when it is killed mid-write.
            read -= read % sizeof(float);
            if (read == 0) break;
            converter.Write(buffer.AsSpan(0, read), chunks);
            if (read < buffer.Length && converter.Flush() is { } last) chunks.Add(last);
            foreach (var chunk in chunks)
            {
                if (!(open = Deliver(output, chunk, index++, clock, cancellationToken))) break;
            }
            chunks.Clear();
        }
        if (cancellationToken.IsCancellationRequested || !open)
        {
            KillQuietly(ffmpeg);
            return;
        }
        ffmpeg.WaitForExit();
        if (ffmpeg.ExitCode != 0)
        {
            // ffmpeg's last line is its conclusion; the lines before it repeat the path and stream details.
            string reason = stderr.GetAwaiter().GetResult().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .LastOrDefault() ?? $"exit code {ffmpeg.ExitCode}";
            throw new InvalidDataException(index == 0
                ? $"{Name}: not audio that ffmpeg can decode ({reason})"
                : $"{Name}: decoding failed after {CaptureConverter.StreamTimeOf(converter.SamplesDelivered).TotalSeconds:0.###} s ({reason})");
        }
        if (index == 0) throw new InvalidDataException($"{Name}: no audio samples decoded");
    }

    private bool Deliver(ChannelWriter<AudioChunk> output, AudioChunk chunk, long index, Stopwatch clock, CancellationToken cancellationToken)
    {
        if (!_realtime) return CaptureOutput.Write(output, chunk, Counters, cancellationToken);
        // Each chunk is due at its own offset from the first, not a fixed delay after the previous one, so the
        // waits' overshoots do not add up. The schedule starts when the first chunk is decoded: ffmpeg's start-up
        // must not become a backlog delivered in a burst.
        if (index == 0) clock.Restart();
        var due = TimeSpan.FromTicks(index * ChunkMs * TimeSpan.TicksPerMillisecond);
        var wait = due - clock.Elapsed;
        if (wait > TimeSpan.Zero && cancellationToken.WaitHandle.WaitOne(wait)) return false;
        return CaptureOutput.Offer(output, chunk, Counters);
    }

    private Process StartFfmpeg()
    {
        var psi = new ProcessStartInfo("ffmpeg")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-nostdin", "-hide_banner", "-loglevel", "error", "-i", Name, "-vn", "-ac", "1",
                     "-ar", AudioChunk.SampleRate.ToString(CultureInfo.InvariantCulture), "-f", "f32le", "-" })
            psi.ArgumentList.Add(a);
        try
        {
            return Process.Start(psi) ?? throw new InvalidOperationException($"{Name}: ffmpeg did not start");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"{Name}: decoding needs ffmpeg on PATH (scripts/install-system-deps.sh installs it): {e.Message}", e);
        }
    }

    private static void KillQuietly(Process process)
    {
        try
        {
            if (!process.HasExited) process.Kill();
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }
    }
}
