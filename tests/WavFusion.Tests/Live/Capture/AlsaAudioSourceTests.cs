using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using WavFusion.Live.Capture;
using WavFusion.Live.Pipeline;
using WavFusion.Media;
using Xunit.Abstractions;

namespace WavFusion.Tests.Live.Capture;

/// <summary>
/// Real libasound, no sound card: ALSA's `file` PCM plugin over the `null` PCM reads its `infile` as captured audio.
/// A regular file is read as fast as asked; a FIFO written at the native byte rate paces it like a microphone.
/// </summary>
public sealed partial class AlsaAudioSourceTests(ITestOutputHelper log) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("wavfusion-alsa-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly CaptureFormat Native = new(44_100, 2, CaptureSampleFormat.S16);

    // A process-wide native environment variable: .NET's Environment.SetEnvironmentVariable does not reach libc's
    // environ, and libasound reads ALSA_CONFIG_PATH with getenv at each snd_pcm_open (reloading when it changes).
    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    [LibraryImport("libc", EntryPoint = "mkfifo", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MkFifo(string path, uint mode);

    private static void SkipWithoutAlsa()
    {
        Skip.IfNot(AlsaAudioSource.IsAvailable(out var reason), reason);
    }

    /// <summary>An ALSA configuration defining capture PCM "wavin" that reads <paramref name="infile"/>'s raw frames.</summary>
    private void UseAlsaConfig(string infile)
    {
        string path = Path.Combine(_dir, $"asound-{Guid.NewGuid():N}.conf");
        File.WriteAllText(path, $$"""
            </usr/share/alsa/alsa.conf>
            pcm.wavin {
                type file
                slave.pcm null
                file "/dev/null"
                infile "{{infile}}"
                format "raw"
            }
            """);
        Assert.Equal(0, SetEnv("ALSA_CONFIG_PATH", path, 1));
    }

    private static AlsaHardwareRequest Ask(CaptureFormat f) => new() { Rates = [f.SampleRate], Channels = [f.Channels], Formats = [f.SampleFormat] };

    private static double Tone(long i, int rate) => CaptureSignals.Sine(440, 0.5, rate, i);

    [SkippableTheory]
    [InlineData(CaptureSampleFormat.S16)]
    [InlineData(CaptureSampleFormat.S32)]
    [InlineData(CaptureSampleFormat.F32)]
    public async Task A_44_1_kHz_stereo_sine_captured_through_ALSA_arrives_intact_at_16_kHz_with_exact_stamps(CaptureSampleFormat sampleFormat)
    {
        SkipWithoutAlsa();
        var native = Native with { SampleFormat = sampleFormat };
        string raw = Path.Combine(_dir, "in.raw");
        File.WriteAllBytes(raw, CaptureSignals.Encode(native, 44_100 * 2, (i, _) => Tone(i, 44_100)));
        UseAlsaConfig(raw);

        var channel = Channel.CreateUnbounded<AudioChunk>();
        var source = new AlsaAudioSource(new MicrophoneOptions { Device = "wavin", ChunkMs = 32 }, Ask(native));
        using var cts = new CancellationTokenSource();
        var run = source.RunAsync(channel.Writer, cts.Token);
        var chunks = new List<AudioChunk>();
        // The file plugin reads the 2 s file at once, then returns no frames: take 1.5 s, then stop.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await foreach (var chunk in channel.Reader.ReadAllAsync(timeout.Token))
        {
            chunks.Add(chunk);
            if (chunks.Count * 512 >= 24_000) break;
        }
        await cts.CancelAsync();
        await run;

        Assert.Equal(native, source.DeviceFormat);
        for (int k = 0; k < chunks.Count; k++)
            Assert.Equal(TimeSpan.FromTicks(k * 512L * 625), chunks[k].StreamTime);
        var (r, rms, lag) = CaptureSignals.Match(CaptureSignals.Concat(chunks), i => Tone(i, 16_000));
        log.WriteLine($"{native} through ALSA: correlation {r:0.000000}, RMS error {rms:0.00000}, delay {lag} samples, {source.Counters.Delivered} chunks");
        Assert.True(r > 0.999, $"correlation {r}");
        Assert.True(rms < 0.01, $"RMS error {rms}");
        Assert.Equal(0, source.Counters.Overruns);
    }

    [SkippableFact]
    public async Task A_device_that_takes_anything_is_asked_for_16_kHz_mono_float_first()
    {
        SkipWithoutAlsa();
        string raw = Path.Combine(_dir, "in.raw");
        File.WriteAllBytes(raw, new byte[16_000 * 4]);
        UseAlsaConfig(raw);
        var channel = Channel.CreateUnbounded<AudioChunk>();
        var source = new AlsaAudioSource(new MicrophoneOptions { Device = "wavin" });
        using var cts = new CancellationTokenSource();
        var run = source.RunAsync(channel.Writer, cts.Token);
        await channel.Reader.ReadAsync();
        await cts.CancelAsync();
        await run;
        Assert.Equal(new CaptureFormat(16_000, 1, CaptureSampleFormat.F32), source.DeviceFormat);
    }

    [SkippableFact]
    public async Task Capture_paced_like_a_microphone_stops_promptly_when_cancelled()
    {
        SkipWithoutAlsa();
        string fifo = Path.Combine(_dir, "in.fifo");
        Assert.Equal(0, MkFifo(fifo, 0x180));
        // libasound opens the infile at snd_pcm_open, and a FIFO's open waits for its writer: start the writer
        // first. It writes the native byte rate in 10 ms pieces on a stopwatch schedule, as an ADC would.
        using var stopWriting = new CancellationTokenSource();
        var writer = new Thread(() => WritePaced(fifo, Native, stopWriting.Token)) { IsBackground = true };
        writer.Start();
        UseAlsaConfig(fifo);

        var channel = Channel.CreateBounded<AudioChunk>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropOldest });
        var source = new AlsaAudioSource(new MicrophoneOptions { Device = "wavin", ChunkMs = 32 }, Ask(Native));
        using var cts = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var run = source.RunAsync(channel.Writer, cts.Token);
        long samples = 0;
        await foreach (var chunk in channel.Reader.ReadAllAsync())
        {
            samples += chunk.Samples.Length;
            if (samples >= 4 * 16_000) break;
        }
        var captureTime = clock.Elapsed;
        clock.Restart();
        await cts.CancelAsync();
        await run;
        var stop = clock.Elapsed;
        await stopWriting.CancelAsync();

        log.WriteLine($"4 s of paced capture took {captureTime.TotalSeconds:0.00} s (ALSA reads ahead); stop latency {stop.TotalMilliseconds:0.0} ms");
        Assert.True(captureTime > TimeSpan.FromSeconds(2), $"capture was not paced: {captureTime}");
        Assert.True(stop < TimeSpan.FromMilliseconds(1500), $"stop latency {stop.TotalMilliseconds:0.0} ms");
        Assert.True(run.IsCompletedSuccessfully);
        Assert.False(channel.Writer.TryWrite(new AudioChunk([], TimeSpan.Zero)), "the source left its channel open");
    }

    private static void WritePaced(string fifo, CaptureFormat format, CancellationToken stop)
    {
        int pieceFrames = format.SampleRate / 100;
        var clock = Stopwatch.StartNew();
        try
        {
            using var stream = new FileStream(fifo, FileMode.Open, FileAccess.Write);
            for (long piece = 0; !stop.IsCancellationRequested; piece++)
            {
                var due = TimeSpan.FromMilliseconds(10 * piece) - clock.Elapsed;
                if (due > TimeSpan.Zero) Thread.Sleep(due);
                long first = piece * pieceFrames;
                stream.Write(CaptureSignals.Encode(format, pieceFrames, (i, _) => Tone(first + i, format.SampleRate)));
            }
        }
        catch (IOException)
        {
            // The reader closed the FIFO: capture stopped.
        }
    }

    [SkippableFact]
    public async Task A_device_that_does_not_exist_fails_with_an_error_naming_it()
    {
        SkipWithoutAlsa();
        var channel = Channel.CreateUnbounded<AudioChunk>();
        var source = new AlsaAudioSource(new MicrophoneOptions { Device = "nosuchdevice" });
        var e = await Assert.ThrowsAsync<IOException>(() => source.RunAsync(channel.Writer, CancellationToken.None));
        log.WriteLine(e.Message);
        Assert.StartsWith("nosuchdevice: cannot open ALSA capture device: ", e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<IOException>(() => channel.Reader.Completion);
    }

    [SkippableFact]
    public async Task A_channel_completed_by_its_reader_stops_capture()
    {
        SkipWithoutAlsa();
        string raw = Path.Combine(_dir, "in.raw");
        File.WriteAllBytes(raw, new byte[16_000 * 4 * 10]);
        UseAlsaConfig(raw);
        var channel = Channel.CreateUnbounded<AudioChunk>();
        channel.Writer.Complete();
        var source = new AlsaAudioSource(new MicrophoneOptions { Device = "wavin" });
        var run = source.RunAsync(channel.Writer, CancellationToken.None);
        Assert.Same(run, await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(10))));
        await run;
    }
}
