namespace WavFusion.Training.SynthEmo;

/// <summary>
/// Band-limited resampling by a Hann-windowed sinc (16 zero crossings each side, cut-off at 95 % of the lower
/// Nyquist). Plain arithmetic, so the output is the same on every run; espeak-ng speaks at 22.05 kHz and the
/// models take 16 kHz.
/// </summary>
internal static class Resampler
{
    private const int HalfTaps = 16;

    public static float[] Resample(float[] input, int fromRate, int toRate)
    {
        if (fromRate == toRate) return (float[])input.Clone();
        long outLength = (long)input.Length * toRate / fromRate;
        var output = new float[outLength];
        double ratio = (double)fromRate / toRate;
        // Normalised cut-off relative to the input rate (1 = input Nyquist).
        double cutoff = 0.95 * Math.Min(1.0, (double)toRate / fromRate);
        double reach = HalfTaps / cutoff;
        for (long n = 0; n < outLength; n++)
        {
            double x = n * ratio;
            int first = (int)Math.Ceiling(x - reach), last = (int)Math.Floor(x + reach);
            double sum = 0;
            for (int k = Math.Max(first, 0); k <= Math.Min(last, input.Length - 1); k++)
            {
                double d = (x - k) * cutoff;
                double sinc = d == 0 ? 1 : Math.Sin(Math.PI * d) / (Math.PI * d);
                double window = 0.5 + 0.5 * Math.Cos(Math.PI * d / HalfTaps);
                sum += input[k] * sinc * window;
            }
            output[n] = (float)(sum * cutoff);
        }
        return output;
    }
}
