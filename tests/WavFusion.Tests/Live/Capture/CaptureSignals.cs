using System.Runtime.InteropServices;
using WavFusion.Live.Capture;
using WavFusion.Media;

namespace WavFusion.Tests.Live.Capture;

/// <summary>Known signals in any native format, and how closely a captured one matches its 16 kHz original.</summary>
internal static class CaptureSignals
{
    public static double Sine(double frequency, double amplitude, int rate, long index) => amplitude * Math.Sin(2 * Math.PI * frequency * index / rate);

    /// <summary>Interleaved frames of <paramref name="signal"/> (one value per frame index, the same on every channel).</summary>
    public static byte[] Encode(CaptureFormat format, int frames, Func<long, int, double> signal)
    {
        var bytes = new byte[frames * format.BytesPerFrame];
        for (int f = 0; f < frames; f++)
        {
            for (int c = 0; c < format.Channels; c++)
            {
                double v = signal(f, c);
                var at = bytes.AsSpan((f * format.Channels + c) * format.BytesPerSample);
                switch (format.SampleFormat)
                {
                    case CaptureSampleFormat.S16: MemoryMarshal.Write(at, (short)Math.Round(v * 32767)); break;
                    case CaptureSampleFormat.S32: MemoryMarshal.Write(at, (int)Math.Round(v * 2147483647)); break;
                    case CaptureSampleFormat.F32: MemoryMarshal.Write(at, (float)v); break;
                    case CaptureSampleFormat.S24Packed:
                        int s = (int)Math.Round(v * 8388607);
                        at[0] = (byte)s; at[1] = (byte)(s >> 8); at[2] = (byte)(s >> 16);
                        break;
                }
            }
        }
        return bytes;
    }

    public static float[] Concat(IEnumerable<AudioChunk> chunks) => chunks.SelectMany(c => c.Samples).ToArray();

    /// <summary>
    /// Correlation and RMS error of <paramref name="actual"/> against <paramref name="expected"/> at the lag (the
    /// resampler's group delay, 0-80 samples) that fits best, over the samples after <paramref name="skip"/>.
    /// </summary>
    public static (double Correlation, double RmsError, int Lag) Match(ReadOnlySpan<float> actual, Func<long, double> expected, int skip = 200)
    {
        (double, double, int) best = (-2, double.MaxValue, 0);
        for (int lag = 0; lag <= 80; lag++)
        {
            double sxy = 0, sxx = 0, syy = 0, se = 0;
            int n = 0;
            for (int i = skip + lag; i < actual.Length; i++, n++)
            {
                double x = actual[i], y = expected(i - lag);
                sxy += x * y; sxx += x * x; syy += y * y; se += (x - y) * (x - y);
            }
            double r = sxy / Math.Sqrt(sxx * syy);
            if (r > best.Item1) best = (r, Math.Sqrt(se / n), lag);
        }
        return best;
    }

    public static double Rms(ReadOnlySpan<float> x, int skip = 200)
    {
        double s = 0;
        for (int i = skip; i < x.Length; i++) s += x[i] * (double)x[i];
        return Math.Sqrt(s / (x.Length - skip));
    }
}
