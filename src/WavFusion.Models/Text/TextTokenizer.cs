using TorchSharp;
using static TorchSharp.torch;

namespace WavFusion.Models.Text;

/// <summary>
/// What the BERT-family tokenizers share: special-token layout, longest-first truncation of pairs and
/// right padding to the longest row. Subclasses only turn one text into sub-word ids.
/// </summary>
public abstract class TextTokenizer
{
    /// <summary>&lt;s&gt; / [CLS], first in every row.</summary>
    public int StartId { get; }

    /// <summary>&lt;/s&gt; / [SEP], closing each segment.</summary>
    public int SeparatorId { get; }

    public int PadId { get; }

    private readonly bool _doubleSeparatorBetweenPairs;
    private readonly bool _secondSegmentIsTypeOne;

    private protected TextTokenizer(int startId, int separatorId, int padId, bool doubleSeparatorBetweenPairs, bool secondSegmentIsTypeOne)
    {
        StartId = startId;
        SeparatorId = separatorId;
        PadId = padId;
        _doubleSeparatorBetweenPairs = doubleSeparatorBetweenPairs;
        _secondSegmentIsTypeOne = secondSegmentIsTypeOne;
    }

    /// <summary>Sub-word ids of one text, without special tokens.</summary>
    public abstract IReadOnlyList<int> TokenIds(string text);

    /// <summary>One row per text: start, the text's tokens (truncated to fit), separator.</summary>
    public EncodedBatch Encode(IReadOnlyList<string> texts, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(texts);
        CheckBatch(texts.Count, maxLength, 2);
        var rows = new List<(List<int> Ids, int SecondStart)>(texts.Count);
        foreach (var text in texts)
        {
            var ids = TokenIds(text ?? throw new ArgumentException("texts contains null", nameof(texts))).Take(maxLength - 2);
            rows.Add(([StartId, .. ids, SeparatorId], int.MaxValue));
        }
        return Pack(rows);
    }

    /// <summary>
    /// One row per pair: RoBERTa <c>&lt;s&gt; A &lt;/s&gt;&lt;/s&gt; B &lt;/s&gt;</c>, BERT <c>[CLS] A [SEP] B [SEP]</c>
    /// (B's tokens and its closing [SEP] are segment 1). Truncation removes tokens from the end of the longer
    /// text first, as transformers' "longest_first".
    /// </summary>
    public EncodedBatch EncodePairs(IReadOnlyList<(string First, string Second)> pairs, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        int specials = _doubleSeparatorBetweenPairs ? 4 : 3;
        CheckBatch(pairs.Count, maxLength, specials);
        var rows = new List<(List<int> Ids, int SecondStart)>(pairs.Count);
        foreach (var (first, second) in pairs)
        {
            var a = TokenIds(first ?? throw new ArgumentException("a pair holds null", nameof(pairs))).ToList();
            var b = TokenIds(second ?? throw new ArgumentException("a pair holds null", nameof(pairs))).ToList();
            while (a.Count + b.Count > maxLength - specials)
            {
                if (a.Count > b.Count) a.RemoveAt(a.Count - 1);
                else b.RemoveAt(b.Count - 1);
            }
            var ids = new List<int>(a.Count + b.Count + specials) { StartId };
            ids.AddRange(a);
            ids.Add(SeparatorId);
            if (_doubleSeparatorBetweenPairs) ids.Add(SeparatorId);
            int secondStart = ids.Count;
            ids.AddRange(b);
            ids.Add(SeparatorId);
            rows.Add((ids, secondStart));
        }
        return Pack(rows);
    }

    private static void CheckBatch(int count, int maxLength, int specials)
    {
        if (count == 0) throw new ArgumentException("cannot encode an empty batch");
        if (maxLength < specials)
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, $"maxLength must leave room for the {specials} special tokens");
    }

    private EncodedBatch Pack(List<(List<int> Ids, int SecondStart)> rows)
    {
        int b = rows.Count, t = rows.Max(r => r.Ids.Count);
        var ids = new long[b * t];
        var mask = new long[b * t];
        var types = new long[b * t];
        Array.Fill(ids, PadId);
        for (int i = 0; i < b; i++)
        {
            var row = rows[i].Ids;
            for (int j = 0; j < row.Count; j++)
            {
                ids[i * t + j] = row[j];
                mask[i * t + j] = 1;
                if (_secondSegmentIsTypeOne && j >= rows[i].SecondStart) types[i * t + j] = 1;
            }
        }
        long[] shape = [b, t];
        return new EncodedBatch(torch.tensor(ids, shape), torch.tensor(mask, shape), torch.tensor(types, shape));
    }
}
