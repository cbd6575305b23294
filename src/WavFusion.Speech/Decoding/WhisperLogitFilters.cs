using System.Numerics;

using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Streaming;

namespace WavFusion.Speech.Decoding;

/// <summary>
/// The rules applied to each step's logits before a token is chosen (openai-whisper decoding.py
/// SuppressBlank, SuppressTokens, ApplyTimestampRules), on one row of logits.
/// <paramref name="sampled"/> always means the tokens chosen after the prompt.
/// </summary>
public static class WhisperLogitFilters
{
    /// <summary>At the first sampled position, neither a bare space nor end of text.</summary>
    public static void SuppressBlank(Span<float> logits, int sampledCount, IReadOnlyList<int> blankTokens, int endOfText)
    {
        if (sampledCount != 0) return;
        foreach (int t in blankTokens) logits[t] = float.NegativeInfinity;
        logits[endOfText] = float.NegativeInfinity;
    }

    public static void Suppress(Span<float> logits, IReadOnlyList<int> tokens)
    {
        foreach (int t in tokens)
            if ((uint)t < (uint)logits.Length) logits[t] = float.NegativeInfinity;
    }

    /// <summary>
    /// Timestamps come in pairs (a start closes the previous segment's end), never decrease, the first
    /// token is a timestamp no later than <paramref name="maxInitialTimestampIndex"/>, and when the
    /// timestamps together are likelier than any single text token a timestamp is forced.
    /// </summary>
    public static void ApplyTimestampRules(Span<float> logits, ReadOnlySpan<int> sampled, WhisperSpecialTokens special, int? maxInitialTimestampIndex)
    {
        int begin = special.TimestampBegin;
        int eot = special.EndOfText;
        logits[special.NoTimestamps] = float.NegativeInfinity;

        int n = sampled.Length;
        bool lastWasTimestamp = n >= 1 && sampled[n - 1] >= begin;
        bool penultimateWasTimestamp = n < 2 || sampled[n - 2] >= begin;
        if (lastWasTimestamp)
        {
            if (penultimateWasTimestamp) logits[begin..].Fill(float.NegativeInfinity);
            else logits[..eot].Fill(float.NegativeInfinity);
        }

        int lastTimestamp = -1;
        for (int i = n - 1; i >= 0; i--)
            if (sampled[i] >= begin) { lastTimestamp = sampled[i]; break; }
        if (lastTimestamp >= 0)
        {
            // Right after a segment's end the next start may repeat it; otherwise time must advance.
            int firstAllowed = lastWasTimestamp && !penultimateWasTimestamp ? lastTimestamp : lastTimestamp + 1;
            logits[begin..Math.Min(firstAllowed, logits.Length)].Fill(float.NegativeInfinity);
        }

        if (n == 0)
        {
            logits[..begin].Fill(float.NegativeInfinity);
            if (maxInitialTimestampIndex is int max && begin + max + 1 < logits.Length)
                logits[(begin + max + 1)..].Fill(float.NegativeInfinity);
        }

        float logSumExpAll = LogSumExp(logits);
        float timestampLogProb = LogSumExp(logits[begin..]) - logSumExpAll;
        float maxText = Max(logits[..begin]);
        if (timestampLogProb > maxText - logSumExpAll) logits[..begin].Fill(float.NegativeInfinity);
    }

    /// <summary>
    /// log Σ exp over one row. It runs two or three times per decoded token over the whole vocabulary, so
    /// it is vectorised; lanes are summed into a double every block to keep float rounding negligible.
    /// </summary>
    public static float LogSumExp(ReadOnlySpan<float> values)
    {
        float max = Max(values);
        if (float.IsNegativeInfinity(max)) return max;
        var offset = new Vector<float>(max);
        int width = Vector<float>.Count, i = 0;
        double sum = 0;
        while (i <= values.Length - width)
        {
            var lanes = Vector<float>.Zero;
            for (int end = Math.Min(values.Length - width, i + 64 * width); i <= end; i += width)
                lanes += Vector.Exp(new Vector<float>(values[i..]) - offset);
            sum += Vector.Sum(lanes);
        }
        for (; i < values.Length; i++) sum += Math.Exp(values[i] - max);
        return max + (float)Math.Log(sum);
    }

    /// <summary>Largest value of a row (−∞ when empty).</summary>
    public static float Max(ReadOnlySpan<float> values)
    {
        int width = Vector<float>.Count, i = 0;
        float max = float.NegativeInfinity;
        if (values.Length >= width)
        {
            var lanes = new Vector<float>(float.NegativeInfinity);
            for (; i <= values.Length - width; i += width) lanes = Vector.Max(lanes, new Vector<float>(values[i..]));
            for (int k = 0; k < width; k++) max = Math.Max(max, lanes[k]);
        }
        for (; i < values.Length; i++) max = Math.Max(max, values[i]);
        return max;
    }

    /// <summary>log_softmax of one row, in place.</summary>
    public static void LogSoftmax(Span<float> logits)
    {
        float lse = LogSumExp(logits);
        for (int i = 0; i < logits.Length; i++) logits[i] -= lse;
    }
}
