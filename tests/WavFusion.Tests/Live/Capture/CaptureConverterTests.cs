using WavFusion.Live.Capture;
using WavFusion.Media;
using Xunit.Abstractions;

namespace WavFusion.Tests.Live.Capture;

public sealed class CaptureConverterTests(ITestOutputHelper log)
{
    public static TheoryData<int, int, CaptureSampleFormat> Formats()
    {
        var data = new TheoryData<int, int, CaptureSampleFormat>();
        foreach (int rate in new[] { 8_000, 16_000, 44_100, 48_000 })
            foreach (int channels in new[] { 1, 2, 6 })
                foreach (var format in new[] { CaptureSampleFormat.S16, CaptureSampleFormat.S32, CaptureSampleFormat.F32, CaptureSampleFormat.S24Packed })
                    data.Add(rate, channels, format);
        return data;
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public void A_sine_in_any_native_format_arrives_as_the_same_sine_at_16_kHz_mono(int rate, int channels, CaptureSampleFormat sampleFormat)
    {
        var format = new CaptureFormat(rate, channels, sampleFormat);
        var converter = new CaptureConverter(format, chunkSamples: 512);
        var input = CaptureSignals.Encode(format, rate * 2, (i, _) => CaptureSignals.Sine(440, 0.5, rate, i));
        var chunks = new List<AudioChunk>();
        // Reads of uneven size, as a device returns them.
        for (int at = 0, piece = 997 * format.BytesPerFrame; at < input.Length; at += piece)
            converter.Write(input.AsSpan(at, Math.Min(piece, input.Length - at)), chunks);

        var output = CaptureSignals.Concat(chunks);
        var (r, rms, lag) = CaptureSignals.Match(output, i => CaptureSignals.Sine(440, 0.5, AudioChunk.SampleRate, i));
        log.WriteLine($"{format}: {output.Length} samples, correlation {r:0.000000}, RMS error {rms:0.00000}, delay {lag} samples");
        Assert.InRange(output.Length, 32_000 - 512 - 100, 32_000);
        Assert.True(r > 0.999, $"correlation {r}");
        Assert.True(rms < 0.01, $"RMS error {rms}");
        if (rate == AudioChunk.SampleRate) Assert.Equal(0, lag);
    }

    [Fact]
    public void Each_chunk_is_stamped_with_the_samples_before_it_over_16_kHz_exactly()
    {
        var format = new CaptureFormat(44_100, 2, CaptureSampleFormat.S16);
        var converter = new CaptureConverter(format, chunkSamples: 512);
        var chunks = new List<AudioChunk>();
        var input = CaptureSignals.Encode(format, 44_100 * 3, (i, _) => CaptureSignals.Sine(300, 0.3, 44_100, i));
        for (int at = 0, piece = 441 * format.BytesPerFrame; at < input.Length; at += piece)
            converter.Write(input.AsSpan(at, Math.Min(piece, input.Length - at)), chunks);

        Assert.NotEmpty(chunks);
        for (int k = 0; k < chunks.Count; k++)
        {
            Assert.Equal(512, chunks[k].Samples.Length);
            Assert.Equal(TimeSpan.FromTicks(k * 512L * TimeSpan.TicksPerSecond / 16_000), chunks[k].StreamTime);
            if (k > 0) Assert.Equal(chunks[k - 1].End, chunks[k].StreamTime);
        }
        Assert.Equal(chunks.Count * 512L, converter.SamplesDelivered);
    }

    [Fact]
    public void Channels_are_averaged()
    {
        var format = new CaptureFormat(16_000, 2, CaptureSampleFormat.F32);
        var converter = new CaptureConverter(format, chunkSamples: 160);
        var chunks = new List<AudioChunk>();
        converter.Write(CaptureSignals.Encode(format, 160, (_, c) => c == 0 ? 0.8 : 0.2), chunks);
        Assert.All(Assert.Single(chunks).Samples, s => Assert.Equal(0.5f, s, 6));
    }

    [Fact]
    public void Flush_hands_out_the_samples_short_of_a_chunk_at_their_stream_time()
    {
        var format = new CaptureFormat(16_000, 1, CaptureSampleFormat.F32);
        var converter = new CaptureConverter(format, chunkSamples: 512);
        var chunks = new List<AudioChunk>();
        converter.Write(CaptureSignals.Encode(format, 1200, (i, _) => i / 2000.0), chunks);
        Assert.Equal(2, chunks.Count);
        var last = converter.Flush();
        Assert.NotNull(last);
        Assert.Equal(176, last.Samples.Length);
        Assert.Equal(TimeSpan.FromMilliseconds(64), last.StreamTime);
        Assert.Equal(1199 / 2000f, last.Samples[^1], 6);
        Assert.Null(converter.Flush());
    }

    [Fact]
    public void A_read_that_is_not_whole_frames_is_refused()
    {
        var converter = new CaptureConverter(new CaptureFormat(48_000, 2, CaptureSampleFormat.S16), 512);
        var e = Assert.Throws<ArgumentException>(() => converter.Write(new byte[6], new List<AudioChunk>()));
        Assert.Contains("4-byte frames", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Content_above_8_kHz_is_filtered_out_rather_than_folded_into_the_speech_band()
    {
        // A 10 kHz tone at 48 kHz has no place at 16 kHz; decimating without a low-pass (linear interpolation)
        // would fold it to 6 kHz at nearly full level.
        var format = new CaptureFormat(48_000, 1, CaptureSampleFormat.F32);
        var converter = new CaptureConverter(format, chunkSamples: 512);
        var chunks = new List<AudioChunk>();
        converter.Write(CaptureSignals.Encode(format, 48_000, (i, _) => CaptureSignals.Sine(10_000, 0.5, 48_000, i)), chunks);
        double rejection = 20 * Math.Log10(CaptureSignals.Rms(CaptureSignals.Concat(chunks)) / (0.5 / Math.Sqrt(2)));

        var linear = new float[16_000];
        for (int i = 0; i < linear.Length; i++) linear[i] = (float)CaptureSignals.Sine(10_000, 0.5, 48_000, 3L * i);
        double linearRejection = 20 * Math.Log10(CaptureSignals.Rms(linear) / (0.5 / Math.Sqrt(2)));
        log.WriteLine($"10 kHz at 48 kHz → 16 kHz: WDL sinc leaves {rejection:0.0} dB; interpolation without a low-pass leaves {linearRejection:0.0} dB");
        Assert.True(rejection < -40, $"alias level {rejection:0.0} dB");
    }
}
