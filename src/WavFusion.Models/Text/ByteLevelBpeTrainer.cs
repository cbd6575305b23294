using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace WavFusion.Models.Text;

/// <summary>
/// Learns a RoBERTa-style byte-level BPE vocabulary from texts (Sennrich et al.: repeatedly merge the most
/// frequent adjacent symbol pair within pre-tokenized words) and writes it as vocab.json + merges.txt, the
/// files <see cref="RobertaTokenizer.FromFolder"/> reads. Used for small models trained here from scratch
/// (the bundled demo model); pretrained encoders come with their own files.
/// Ids: &lt;s&gt; 0, &lt;pad&gt; 1, &lt;/s&gt; 2, &lt;unk&gt; 3, the 256 byte symbols, the merges in order, &lt;mask&gt; last.
/// </summary>
public static class ByteLevelBpeTrainer
{
    public static readonly IReadOnlyList<string> LeadingSpecials = ["<s>", "<pad>", "</s>", "<unk>"];
    public const string MaskToken = "<mask>";

    /// <param name="maxMerges">Upper bound on merges; training also stops when no pair occurs <paramref name="minFrequency"/> times.</param>
    public static BpeVocabulary Train(IEnumerable<string> texts, int maxMerges, int minFrequency = 2)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentOutOfRangeException.ThrowIfNegative(maxMerges);
        ArgumentOutOfRangeException.ThrowIfLessThan(minFrequency, 1);

        var wordCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var text in texts)
            foreach (System.Text.RegularExpressions.Match piece in ByteLevel.Pretokenizer().Matches(text))
            {
                string spelled = ByteLevel.Spell(piece.Value);
                wordCounts[spelled] = wordCounts.GetValueOrDefault(spelled) + 1;
            }
        // Sorted so that the result does not depend on dictionary order.
        var words = wordCounts.OrderBy(w => w.Key, StringComparer.Ordinal)
            .Select(w => (Symbols: w.Key.Select(c => c.ToString()).ToList(), w.Value)).ToList();

        var merges = new List<(string Left, string Right)>();
        while (merges.Count < maxMerges)
        {
            var pairs = new Dictionary<(string, string), int>();
            foreach (var (symbols, count) in words)
                for (int i = 0; i + 1 < symbols.Count; i++)
                {
                    var pair = (symbols[i], symbols[i + 1]);
                    pairs[pair] = pairs.GetValueOrDefault(pair) + count;
                }
            if (pairs.Count == 0) break;
            // Most frequent first; ties to the ordinally smallest pair, for determinism.
            var best = pairs.OrderByDescending(p => p.Value)
                .ThenBy(p => p.Key.Item1, StringComparer.Ordinal).ThenBy(p => p.Key.Item2, StringComparer.Ordinal).First();
            if (best.Value < minFrequency) break;
            var (left, right) = best.Key;
            merges.Add((left, right));
            foreach (var (symbols, _) in words)
                for (int i = 0; i + 1 < symbols.Count; i++)
                    if (symbols[i] == left && symbols[i + 1] == right)
                    {
                        symbols[i] = left + right;
                        symbols.RemoveAt(i + 1);
                    }
        }

        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var special in LeadingSpecials) vocab.Add(special, vocab.Count);
        foreach (char c in ByteLevel.CharOfByte) vocab.Add(c.ToString(), vocab.Count);
        foreach (var (left, right) in merges) vocab.TryAdd(left + right, vocab.Count);
        vocab.Add(MaskToken, vocab.Count);
        return new BpeVocabulary(vocab, merges);
    }
}

/// <summary>A byte-level BPE vocabulary: token → id and the merges in priority order.</summary>
public sealed record BpeVocabulary(IReadOnlyDictionary<string, int> Vocab, IReadOnlyList<(string Left, string Right)> Merges)
{
    public int Size => Vocab.Count;

    /// <summary>Writes vocab.json and merges.txt (with the "#version: 0.2" header Hugging Face writes) into <paramref name="folder"/>.</summary>
    public void Save(string folder)
    {
        Directory.CreateDirectory(folder);
        // The byte-level spelling uses characters above U+00FF; write them as they are, as Hugging Face does.
        var json = JsonSerializer.Serialize(Vocab.OrderBy(v => v.Value).ToDictionary(v => v.Key, v => v.Value),
            new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        File.WriteAllText(Path.Combine(folder, "vocab.json"), json, new UTF8Encoding(false));
        var merges = new StringBuilder("#version: 0.2\n");
        foreach (var (left, right) in Merges) merges.Append(left).Append(' ').Append(right).Append('\n');
        File.WriteAllText(Path.Combine(folder, "merges.txt"), merges.ToString(), new UTF8Encoding(false));
    }
}
