namespace WavFusion.Speech.Whisper;

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
        float maxText = float.NegativeInfinity;
        foreach (float v in logits[..begin]) if (v > maxText) maxText = v;
        if (timestampLogProb > maxText - logSumExpAll) logits[..begin].Fill(float.NegativeInfinity);
    }

    public static float LogSumExp(ReadOnlySpan<float> values)
    {
        float max = float.NegativeInfinity;
        foreach (float v in values) if (v > max) max = v;
        if (float.IsNegativeInfinity(max)) return max;
        double sum = 0;
        foreach (float v in values) sum += Math.Exp(v - max);
        return max + (float)Math.Log(sum);
    }

    /// <summary>log_softmax of one row, in place.</summary>
    public static void LogSoftmax(Span<float> logits)
    {
        float lse = LogSumExp(logits);
        for (int i = 0; i < logits.Length; i++) logits[i] -= lse;
    }
}
