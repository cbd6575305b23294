namespace WavFusion.Models.Whisper;

/// <summary>Whisper's language codes in token order (openai-whisper tokenizer.py LANGUAGES; Cantonese added in v3).</summary>
public static class WhisperLanguages
{
    public static IReadOnlyList<string> Codes { get; } =
    [
        "en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "ca", "nl", "ar", "sv", "it", "id", "hi", "fi", "vi",
        "he", "uk", "el", "ms", "cs", "ro", "da", "hu", "ta", "no", "th", "ur", "hr", "bg", "lt", "la", "mi", "ml", "cy", "sk",
        "te", "fa", "lv", "bn", "sr", "az", "sl", "kn", "et", "mk", "br", "eu", "is", "hy", "ne", "mn", "bs", "kk", "sq", "sw",
        "gl", "mr", "pa", "si", "km", "sn", "yo", "so", "af", "oc", "ka", "be", "tg", "sd", "gu", "am", "yi", "lo", "uz", "fo",
        "ht", "ps", "tk", "nn", "mt", "sa", "lb", "my", "bo", "tl", "mg", "as", "tt", "haw", "ln", "ha", "ba", "jw", "su", "yue",
    ];

    public static int IndexOf(string code)
    {
        for (int i = 0; i < Codes.Count; i++) if (string.Equals(Codes[i], code, StringComparison.OrdinalIgnoreCase)) return i;
        return -1;
    }
}
