using System.Globalization;
using System.Text;
using System.Text.Json;

namespace WavFusion.Models.Text;

/// <summary>
/// The BERT WordPiece tokenizer of a Hugging Face folder (vocab.txt, optional tokenizer_config.json),
/// following transformers' BasicTokenizer + WordpieceTokenizer: control characters dropped, any whitespace
/// separates, CJK ideographs stand alone, lower-casing and accent stripping unless tokenizer_config.json
/// says do_lower_case false, every punctuation character split off, then greedy longest-prefix WordPiece
/// with "##" continuations.
/// </summary>
/// <remarks>
/// Not Microsoft.ML.Tokenizers' BertTokenizer (2.0.1): it keeps "hello\tworld" as one word, silently
/// drops ASCII symbols such as $ + ^ | ~ that BERT treats as punctuation, and its accent stripping relies
/// on string.Normalize, which InvariantGlobalization turns into a no-op.
/// </remarks>
public sealed class BertTokenizer : TextTokenizer
{
    private const string ContinuationPrefix = "##";
    private const int MaxCharsPerWord = 100;

    private readonly Dictionary<string, int> _vocab;
    private readonly int _unknownId;

    public bool LowerCase { get; }

    private BertTokenizer(Dictionary<string, int> vocab, bool lowerCase)
        : base(vocab["[CLS]"], vocab["[SEP]"], vocab["[PAD]"], doubleSeparatorBetweenPairs: false, secondSegmentIsTypeOne: true)
    {
        _vocab = vocab;
        _unknownId = vocab["[UNK]"];
        LowerCase = lowerCase;
    }

    public static BertTokenizer FromFolder(string folder)
    {
        string vocabPath = Path.Combine(folder, "vocab.txt");
        if (!File.Exists(vocabPath)) throw new FileNotFoundException($"{folder}: no vocab.txt", vocabPath);
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        int id = 0;
        foreach (var line in File.ReadLines(vocabPath)) vocab[line.TrimEnd('\r')] = id++;
        foreach (var required in new[] { "[CLS]", "[SEP]", "[PAD]", "[UNK]" })
            if (!vocab.ContainsKey(required)) throw new ArgumentException($"{vocabPath}: special token {required} is missing");
        return new BertTokenizer(vocab, ReadLowerCase(Path.Combine(folder, "tokenizer_config.json")));
    }

    private static bool ReadLowerCase(string tokenizerConfigPath)
    {
        if (!File.Exists(tokenizerConfigPath)) return true;
        using var doc = JsonDocument.Parse(File.ReadAllText(tokenizerConfigPath));
        return !doc.RootElement.TryGetProperty("do_lower_case", out var v) || v.ValueKind != JsonValueKind.False;
    }

    public override IReadOnlyList<int> TokenIds(string text)
    {
        var ids = new List<int>();
        foreach (var word in BasicTokens(text)) WordPiece(word, ids);
        return ids;
    }

    /// <summary>Whitespace-, CJK- and punctuation-separated words, cleaned, lower-cased and accent-stripped as configured.</summary>
    private IEnumerable<string> BasicTokens(string text)
    {
        var spaced = new StringBuilder(text.Length);
        foreach (var rune in text.EnumerateRunes())
        {
            if (IsWhitespace(rune)) spaced.Append(' ');
            else if (rune.Value == 0 || rune.Value == 0xFFFD || IsControl(rune)) continue;
            else if (IsCjk(rune.Value)) spaced.Append(' ').Append(rune.ToString()).Append(' ');
            else spaced.Append(rune.ToString());
        }
        foreach (var raw in spaced.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            string word = LowerCase ? AccentFolding.Strip(raw.ToLowerInvariant()) : raw;
            var current = new StringBuilder();
            foreach (var rune in word.EnumerateRunes())
            {
                if (!IsPunctuation(rune))
                {
                    current.Append(rune.ToString());
                    continue;
                }
                if (current.Length > 0) yield return current.ToString();
                current.Clear();
                yield return rune.ToString();
            }
            if (current.Length > 0) yield return current.ToString();
        }
    }

    private void WordPiece(string word, List<int> ids)
    {
        var runeStarts = new List<int>();
        for (int i = 0; i < word.Length; i += char.IsSurrogatePair(word, i) ? 2 : 1) runeStarts.Add(i);
        if (runeStarts.Count > MaxCharsPerWord)
        {
            ids.Add(_unknownId);
            return;
        }
        runeStarts.Add(word.Length);
        var pieces = new List<int>();
        int start = 0;
        while (start < runeStarts.Count - 1)
        {
            int found = -1, end = runeStarts.Count - 1;
            for (; end > start; end--)
            {
                string piece = word[runeStarts[start]..runeStarts[end]];
                if (start > 0) piece = ContinuationPrefix + piece;
                if (_vocab.TryGetValue(piece, out found)) break;
            }
            if (end == start)
            {
                ids.Add(_unknownId);
                return;
            }
            pieces.Add(found);
            start = end;
        }
        ids.AddRange(pieces);
    }

    private static bool IsWhitespace(Rune r) =>
        r.Value is ' ' or '\t' or '\n' or '\r' || Rune.GetUnicodeCategory(r) == UnicodeCategory.SpaceSeparator;

    // transformers' _is_control: every "C*" category except the three whitespace controls handled above.
    private static bool IsControl(Rune r) => Rune.GetUnicodeCategory(r) is
        UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.PrivateUse
        or UnicodeCategory.Surrogate or UnicodeCategory.OtherNotAssigned;

    // transformers' _is_punctuation: all non-alphanumeric ASCII symbols plus every "P*" category.
    private static bool IsPunctuation(Rune r)
    {
        int cp = r.Value;
        if (cp is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126) return true;
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    // The CJK Unified Ideograph blocks transformers' _is_chinese_char lists (not Hangul, Hiragana or Katakana).
    private static bool IsCjk(int cp) =>
        cp is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF
            or >= 0x2A700 and <= 0x2B73F or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF
            or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}
