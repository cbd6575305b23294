using System.Diagnostics;
using System.Threading.Channels;
using WavFusion.Live.Capture;
using WavFusion.Live.Pipeline;
using WavFusion.Media;
using WavFusion.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WavFusion.Tests.Live.Capture;

public sealed class AudioFileSourceTests(ITestOutputHelper log) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("wavfusion-filesource-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A 44.1 kHz stereo WAV of a 440 Hz sine at half scale, made by ffmpeg.</summary>
    private string SineWav(double seconds)
    {
        string path = Path.Combine(_dir, $"sine-{seconds}.wav");
        using var ffmpeg = Process.Start("ffmpeg", ["-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
            $"sine=frequency=440:sample_rate=44100:duration={seconds}", "-af", "volume=1.0", "-ac", "2", path])!;
        ffmpeg.WaitForExit();
        Skip.If(ffmpeg.ExitCode != 0, "ffmpeg could not make the test file");
        return path;
    }

    private static bool HasFfmpeg() => Tools.Has("ffmpeg");

    [SkippableFact]
    public async Task A_file_read_as_fast_as_the_channel_takes_it_arrives_whole_in_stamped_chunks()
    {
        Skip.IfNot(HasFfmpeg(), "ffmpeg not on PATH");
        var source = new AudioFileSource(SineWav(1.0), realtime: false, chunkMs: 32);
        var channel = Channel.CreateBounded<AudioChunk>(4);
        var run = source.RunAsync(channel.Writer, CancellationToken.None);
        var chunks = new List<AudioChunk>();
        await foreach (var chunk in channel.Reader.ReadAllAsync()) chunks.Add(chunk);
        await run;

        Assert.Equal(16_000, chunks.Sum(c => c.Samples.Length));
        Assert.All(chunks.SkipLast(1), c => Assert.Equal(512, c.Samples.Length));
        Assert.Equal(16_000 % 512, chunks[^1].Samples.Length);
        for (int k = 0; k < chunks.Count; k++) Assert.Equal(TimeSpan.FromTicks(k * 512L * 625), chunks[k].StreamTime);
        // ffmpeg's lavfi sine is 1/8 of full scale.
        var (r, _, lag) = CaptureSignals.Match(CaptureSignals.Concat(chunks), i => CaptureSignals.Sine(440, 0.125, 16_000, i));
        log.WriteLine($"correlation {r:0.000000}, delay {lag}");
        Assert.True(r > 0.999, $"correlation {r}");
        Assert.Equal(chunks.Count, source.Counters.Delivered);
    }

    [SkippableFact]
    public async Task A_file_paced_in_real_time_delivers_chunk_i_at_i_chunk_lengths_without_drift()
    {
        Skip.IfNot(HasFfmpeg(), "ffmpeg not on PATH");
        var source = new AudioFileSource(SineWav(2.0), realtime: true, chunkMs: 32);
        var channel = Channel.CreateUnbounded<AudioChunk>();
        var clock = Stopwatch.StartNew();
        var run = source.RunAsync(channel.Writer, CancellationToken.None);
        var arrivals = new List<(TimeSpan Arrival, TimeSpan Due)>();
        await foreach (var chunk in channel.Reader.ReadAllAsync()) arrivals.Add((clock.Elapsed, chunk.StreamTime));
        await run;

        // Lateness against the schedule that fits best (the earliest chunk relative to its due time): the reader's
        // own wake-ups and ffmpeg's start-up on a loaded machine are not the pacing's business. A single late
        // chunk (a busy core) is caught up; the last one's lateness is what would accumulate as drift.
        var lateness = arrivals.Select(a => (a.Arrival - a.Due).TotalMilliseconds).ToList();
        double baseline = lateness.Min();
        double span = (arrivals[^1].Arrival - arrivals[0].Arrival).TotalSeconds;
        log.WriteLine($"{arrivals.Count} chunks, first to last {span:0.000} s (due {arrivals[^1].Due.TotalSeconds:0.000} s); first chunk {arrivals[0].Arrival.TotalMilliseconds:0} ms after start (ffmpeg start-up); lateness after it max {lateness.Skip(1).Max() - baseline:0.0} ms, last {lateness[^1] - baseline:0.0} ms");
        Assert.Equal(63, arrivals.Count);
        // Paced: after any start-up catch-up most chunks arrive on their schedule; unpaced, their lateness would
        // spread evenly over the clip's two seconds and few would be within 100 ms of the best fit.
        int onSchedule = lateness.Count(l => l - baseline < 100);
        Assert.True(onSchedule >= arrivals.Count / 2, $"not paced: {onSchedule} of 63 chunks on schedule, 63 chunks in {span:0.000} s");
        Assert.True(lateness[^1] - baseline < 400, $"the last chunk came {lateness[^1] - baseline:0.0} ms late: pacing drifts");
    }

    [SkippableFact]
    public async Task Cancelling_a_paced_file_stops_it_promptly()
    {
        Skip.IfNot(HasFfmpeg(), "ffmpeg not on PATH");
        var source = new AudioFileSource(SineWav(5.0), realtime: true);
        var channel = Channel.CreateUnbounded<AudioChunk>();
        using var cts = new CancellationTokenSource();
        var run = source.RunAsync(channel.Writer, cts.Token);
        await channel.Reader.ReadAsync();
        var clock = Stopwatch.StartNew();
        await cts.CancelAsync();
        await run;
        log.WriteLine($"stop latency {clock.Elapsed.TotalMilliseconds:0.0} ms");
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(1500), $"stopped after {clock.Elapsed.TotalMilliseconds:0} ms");
        Assert.False(channel.Writer.TryWrite(new AudioChunk([], TimeSpan.Zero)), "the source left its channel open");
    }

    [SkippableFact]
    public async Task A_file_that_is_not_audio_fails_naming_the_file()
    {
        Skip.IfNot(HasFfmpeg(), "ffmpeg not on PATH");
        string path = Path.Combine(_dir, "notes.wav");
        await File.WriteAllTextAsync(path, "these are not samples\n");
        var channel = Channel.CreateUnbounded<AudioChunk>();
        var e = await Assert.ThrowsAsync<InvalidDataException>(() => new AudioFileSource(path, realtime: false).RunAsync(channel.Writer, CancellationToken.None));
        log.WriteLine(e.Message);
        Assert.StartsWith($"{path}: not audio that ffmpeg can decode (", e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidDataException>(() => channel.Reader.Completion);
    }

    [Fact]
    public async Task A_missing_file_fails_naming_the_file()
    {
        string path = Path.Combine(_dir, "absent.flac");
        var e = await Assert.ThrowsAsync<FileNotFoundException>(() => new AudioFileSource(path, realtime: false).RunAsync(Channel.CreateUnbounded<AudioChunk>().Writer, CancellationToken.None));
        Assert.StartsWith(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_microphone_on_this_platform_is_ALSA_on_Linux_and_WASAPI_on_Windows()
    {
        var mic = AudioSources.Microphone(new MicrophoneOptions { Device = "hw:1,0" });
        Assert.Equal("hw:1,0", mic.Name);
        if (OperatingSystem.IsLinux()) Assert.IsType<AlsaAudioSource>(mic);
        else if (OperatingSystem.IsWindows()) Assert.IsType<WasapiAudioSource>(mic);
    }
}
