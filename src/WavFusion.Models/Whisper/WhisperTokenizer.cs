using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using WavFusion.Models.Text;

namespace WavFusion.Models.Whisper;

/// <summary>
/// Whisper's byte-level BPE (tiktoken "gpt2"/"multilingual" ranks): a token's id is its merge rank, so
/// encoding repeatedly merges the adjacent pair whose concatenation has the lowest id. Text tokens are
/// byte strings (a token may hold part of a UTF-8 character); special tokens follow the vocabulary.
/// </summary>
public sealed class WhisperTokenizer
{
    private readonly byte[][] _tokens;
    // Byte strings as Latin-1 strings: one char per byte, so ordinary string hashing works.
    private readonly Dictionary<string, int> _ranks;

    public WhisperSpecialTokens Special { get; }
    public int TextTokenCount => _tokens.Length;

    public WhisperTokenizer(IReadOnlyList<byte[]> tokens, WhisperSpecialTokens special)
    {
        if (tokens.Count > special.EndOfText)
            throw new ArgumentException($"vocabulary has {tokens.Count} byte tokens but the special tokens start at {special.EndOfText}", nameof(tokens));
        Special = special;
        _tokens = tokens.ToArray();
        _ranks = new Dictionary<string, int>(_tokens.Length, StringComparer.Ordinal);
        for (int i = 0; i < _tokens.Length; i++)
            if (_tokens[i].Length > 0) _ranks.TryAdd(Encoding.Latin1.GetString(_tokens[i]), i);
    }

    /// <summary>The vocabulary of a Hugging Face <c>vocab.json</c> (GPT-2 byte-to-unicode strings → ids).</summary>
    public static WhisperTokenizer FromHuggingFace(string vocabJsonPath, int vocabularySize)
    {
        var special = WhisperSpecialTokens.ForVocabulary(vocabularySize);
        Dictionary<string, int> vocab;
        try
        {
            vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(vocabJsonPath))
                ?? throw new InvalidDataException($"{vocabJsonPath}: empty vocabulary");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{vocabJsonPath}: not a vocab.json object of token → id: {e.Message}", e);
        }
        var unicodeToByte = ByteLevel.CharOfByte.Select((c, b) => (c, b)).ToDictionary(x => x.c, x => (byte)x.b);
        var tokens = new byte[special.EndOfText][];
        foreach (var (text, id) in vocab)
        {
            if (id < 0 || id >= tokens.Length) continue;
            var bytes = new byte[text.Length];
            for (int i = 0; i < text.Length; i++)
                bytes[i] = unicodeToByte.TryGetValue(text[i], out var b) ? b
                    : throw new InvalidDataException($"{vocabJsonPath}: token {id} '{text}' has a character outside the byte-level alphabet");
            tokens[id] = bytes;
        }
        for (int i = 0; i < tokens.Length; i++) tokens[i] ??= [];
        return new WhisperTokenizer(tokens, special);
    }

    public IReadOnlyList<int> Encode(string text)
    {
        var ids = new List<int>();
        foreach (Match piece in ByteLevel.Pretokenizer().Matches(text))
            EncodePiece(Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(piece.Value)), ids);
        return ids;
    }

    private void EncodePiece(string piece, List<int> ids)
    {
        if (_ranks.TryGetValue(piece, out int whole))
        {
            ids.Add(whole);
            return;
        }
        var parts = piece.Select(c => c.ToString()).ToList();
        while (parts.Count > 1)
        {
            int best = -1, bestRank = int.MaxValue;
            for (int i = 0; i + 1 < parts.Count; i++)
                if (_ranks.TryGetValue(parts[i] + parts[i + 1], out int rank) && rank < bestRank)
                {
                    bestRank = rank;
                    best = i;
                }
            if (best < 0) break;
            parts[best] += parts[best + 1];
            parts.RemoveAt(best + 1);
        }
        foreach (var p in parts)
            ids.Add(_ranks.TryGetValue(p, out int id) ? id : throw new ArgumentException($"byte 0x{(int)p[0]:x2} has no token in this vocabulary"));
    }

    /// <summary>The bytes of a text token; empty for special tokens.</summary>
    public ReadOnlySpan<byte> Bytes(int token) => token >= 0 && token < _tokens.Length ? _tokens[token] : [];

    /// <summary>Text of the text tokens (special tokens are skipped); invalid UTF-8 becomes U+FFFD.</summary>
    public string Decode(IEnumerable<int> tokens)
    {
        var bytes = new List<byte>();
        foreach (int t in tokens)
            if (t >= 0 && t < _tokens.Length) bytes.AddRange(_tokens[t]);
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>The printed name of a token: its text, or <c>&lt;|…|&gt;</c> for special tokens.</summary>
    public string TokenName(int token)
    {
        var s = Special;
        if (token < s.EndOfText) return Encoding.UTF8.GetString(Bytes(token));
        if (token == s.EndOfText) return "<|endoftext|>";
        if (token == s.StartOfTranscript) return "<|startoftranscript|>";
        if (s.IsLanguage(token)) return $"<|{WhisperLanguages.Codes[token - s.FirstLanguage]}|>";
        if (token == s.Translate) return "<|translate|>";
        if (token == s.Transcribe) return "<|transcribe|>";
        if (token == s.StartOfLm) return "<|startoflm|>";
        if (token == s.StartOfPrevious) return "<|startofprev|>";
        if (token == s.NoSpeech) return "<|nospeech|>";
        if (token == s.NoTimestamps) return "<|notimestamps|>";
        if (s.IsTimestamp(token)) return $"<|{s.TimestampOf(token):0.00}|>";
        return $"<|{token}|>";
    }

    /// <summary>
    /// Tokens the decoder may not produce: symbols that are not speech (openai-whisper's
    /// <c>non_speech_tokens</c>: brackets, music notes, speaker-turn dashes), when they are single tokens.
    /// </summary>
    public IReadOnlyList<int> NonSpeechTokens()
    {
        var symbols = "\"#()*+/:;<=>@[\\]^_`{|}~「」『』".Select(c => c.ToString())
            .Concat("<< >> <<< >>> -- --- -( -[ (' (\" (( )) ((( ))) [[ ]] {{ }} ♪♪ ♪♪♪".Split(' ')).ToList();
        var miscellaneous = "♩♪♫♬♭♮♯".Select(c => c.ToString()).ToHashSet();
        var result = new SortedSet<int> { Encode(" -")[0], Encode(" '")[0] };
        foreach (var symbol in symbols.Concat(miscellaneous))
        {
            foreach (var ids in new[] { Encode(symbol), Encode(" " + symbol) })
                if (ids.Count == 1 || (miscellaneous.Contains(symbol) && ids.Count > 0)) result.Add(ids[0]);
        }
        return result.ToArray();
    }

}
