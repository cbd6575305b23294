using System.Buffers;
using System.Text;

namespace WavFusion.Training.Data;

/// <summary>
/// Decodes text files of uncertain encoding the way their authors meant them. MELD's CSVs are UTF-8 but carry
/// Windows-1252 punctuation that went through a Latin-1 step: "I\u0092m" (U+0092, a C1 control) stands for
/// "I’m". Some copies hold the raw 1252 bytes instead, which are not valid UTF-8. Both come out as the 1252
/// character; a byte-order mark is dropped.
/// </summary>
public static class TextRepair
{
    // Windows-1252 0x80-0x9F; '\0' marks the five codes 1252 leaves undefined (dropped).
    private const string Cp1252High = "€\0‚ƒ„…†‡ˆ‰Š‹Œ\0Ž\0\0‘’“”•–—˜™š›œ\0žŸ";

    public static string DecodeFile(string path) => Decode(File.ReadAllBytes(path));

    public static string Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) bytes = bytes[3..];
        var sb = new StringBuilder(bytes.Length);
        while (!bytes.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(bytes, out var rune, out int consumed) == OperationStatus.Done)
            {
                AppendRepaired(sb, rune.Value);
                bytes = bytes[consumed..];
            }
            else
            {
                AppendRepaired(sb, bytes[0]);
                bytes = bytes[1..];
            }
        }
        return sb.ToString();
    }

    /// <summary>Replaces C1 controls (U+0080-U+009F) in already decoded text by their Windows-1252 characters.</summary>
    public static string RepairC1(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.Any(c => c is >= '\u0080' and <= '\u009F')) return text;
        var sb = new StringBuilder(text.Length);
        foreach (char c in text) AppendRepaired(sb, c);
        return sb.ToString();
    }

    private static void AppendRepaired(StringBuilder sb, int codePoint)
    {
        if (codePoint is >= 0x80 and <= 0x9F)
        {
            char c = Cp1252High[codePoint - 0x80];
            if (c != '\0') sb.Append(c);
        }
        else if (codePoint is > 0x9F and <= 0xFF || codePoint < 0x80)
        {
            sb.Append((char)codePoint);
        }
        else
        {
            sb.Append(char.ConvertFromUtf32(codePoint));
        }
    }
}
