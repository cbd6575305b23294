using System.Threading.Channels;
using WavFusion.Live.Capture;
using WavFusion.Media;

namespace WavFusion.Tests.Live.Capture;

/// <summary>
/// The capture loop against a device that overruns: no ALSA plugin overruns without a sound card (the null PCM is
/// always ready), so this plays the device.
/// </summary>
public sealed class AlsaReadLoopTests
{
    private static readonly CaptureFormat Format = new(16_000, 1, CaptureSampleFormat.S16);

    private sealed class OverrunningPcm(int periods, int overrunAt, int recoverResult) : IAlsaPcm
    {
        private int _calls;

        public int Recovered { get; private set; }

        public CancellationTokenSource Done { get; } = new();

        public int Wait(int timeoutMs) => _calls++ == overrunAt ? -32 : 1;

        public long Read(Span<byte> buffer, int frames)
        {
            if (_calls > periods) Done.Cancel();
            buffer[..(frames * 2)].Fill(0x10);
            return frames;
        }

        public int Recover(int err)
        {
            Recovered++;
            return recoverResult;
        }

        public string Describe(int err) => "Broken pipe";

        public void Dispose() => Done.Dispose();
    }

    [Fact]
    public void An_overrun_is_recovered_counted_and_capture_goes_on()
    {
        using var pcm = new OverrunningPcm(periods: 10, overrunAt: 3, recoverResult: 0);
        var channel = Channel.CreateUnbounded<AudioChunk>();
        var counters = new CaptureCounters();
        AlsaAudioSource.ReadLoop(pcm, 320, new CaptureConverter(Format, 320), channel.Writer, counters, "fake", pcm.Done.Token);
        Assert.Equal(1, counters.Overruns);
        Assert.Equal(1, pcm.Recovered);
        Assert.True(counters.Delivered >= 9, $"{counters.Delivered} chunks");
    }

    [Fact]
    public void An_overrun_that_cannot_be_recovered_fails_naming_the_device()
    {
        using var pcm = new OverrunningPcm(periods: 10, overrunAt: 3, recoverResult: -32);
        var channel = Channel.CreateUnbounded<AudioChunk>();
        var counters = new CaptureCounters();
        var e = Assert.Throws<IOException>(() =>
            AlsaAudioSource.ReadLoop(pcm, 320, new CaptureConverter(Format, 320), channel.Writer, counters, "hw:9", pcm.Done.Token));
        Assert.Equal("hw:9: ALSA capture failed: Broken pipe", e.Message);
        Assert.Equal(1, counters.Overruns);
    }

    [Fact]
    public void A_full_channel_that_waits_loses_the_chunk_counted_instead_of_blocking_the_device()
    {
        using var pcm = new OverrunningPcm(periods: 10, overrunAt: -1, recoverResult: 0);
        var channel = Channel.CreateBounded<AudioChunk>(new BoundedChannelOptions(2) { FullMode = BoundedChannelFullMode.Wait });
        var counters = new CaptureCounters();
        AlsaAudioSource.ReadLoop(pcm, 320, new CaptureConverter(Format, 320), channel.Writer, counters, "fake", pcm.Done.Token);
        Assert.Equal(2, counters.Delivered);
        Assert.True(counters.Dropped >= 8, $"{counters.Dropped} dropped");
    }
}
