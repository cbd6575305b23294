namespace WavFusion.Inference;

/// <summary>Sliding windows over a clip: where each starts and how long it is.</summary>
public static class SlidingWindows
{
    /// <summary>
    /// Windows of <paramref name="window"/> samples every <paramref name="hop"/> samples over <paramref name="samples"/>
    /// samples; the last may be shorter, down to <paramref name="minimum"/>; none extends past the end, and the
    /// windowing stops once a window reaches the end.
    /// </summary>
    public static IEnumerable<(int Start, int Length)> Over(int samples, int window, int hop, int minimum)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(samples);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(window);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hop);
        for (long start = 0; start < samples; start += hop)
        {
            int length = (int)Math.Min(window, samples - start);
            if (length < minimum) yield break;
            yield return ((int)start, length);
            if (start + length >= samples) yield break;
        }
    }
}
