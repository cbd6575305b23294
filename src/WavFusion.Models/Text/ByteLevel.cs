using System.Text;
using System.Text.RegularExpressions;

namespace WavFusion.Models.Text;

/// <summary>
/// GPT-2's byte-level conventions, shared by RoBERTa and Whisper vocabularies: the reversible map of bytes to
/// printable characters that vocab.json and merges.txt are spelled in, and the pre-tokenizer pattern.
/// </summary>
public static partial class ByteLevel
{
    private static readonly char[] Alphabet = BuildAlphabet();

    /// <summary>Byte b is spelled <c>Alphabet[b]</c>: printable Latin-1 bytes as themselves, the others from U+0100 on.</summary>
    public static IReadOnlyList<char> CharOfByte => Alphabet;

    /// <summary>A text's UTF-8 bytes in the byte-level spelling.</summary>
    public static string Spell(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = Alphabet[bytes[i]];
        return new string(chars);
    }

    /// <summary>openai/gpt-2 encoder.py's pattern: contractions, letter runs, digit runs, other runs, each with one leading space.</summary>
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    public static partial Regex Pretokenizer();

    private static char[] BuildAlphabet()
    {
        var map = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)next++;
        }
        return map;
    }
}
