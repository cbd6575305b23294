namespace WavFusion.Models.Whisper;

/// <summary>
/// Ids of Whisper's special tokens, which follow the byte-level vocabulary in a fixed order:
/// end of text, start of transcript, one token per language, translate, transcribe, start of LM,
/// start of previous text, no speech, no timestamps, then 1501 timestamps of 0.02 s.
/// </summary>
public sealed record WhisperSpecialTokens(
    int EndOfText, int StartOfTranscript, int LanguageCount,
    int Translate, int Transcribe, int StartOfLm, int StartOfPrevious, int NoSpeech, int NoTimestamps, int TimestampBegin,
    int VocabularySize)
{
    public const int TimestampCount = 1501;
    public const double TimestampSeconds = 0.02;

    private const int EnglishOnlyVocabulary = 51864;

    public bool IsMultilingual => LanguageCount > 0;

    public int FirstLanguage => StartOfTranscript + 1;

    /// <summary>Token of language <paramref name="code"/> ("en", "de", …), if this model has it.</summary>
    public int? Language(string code)
    {
        int index = WhisperLanguages.IndexOf(code);
        return index >= 0 && index < LanguageCount ? FirstLanguage + index : null;
    }

    public bool IsLanguage(int token) => token >= FirstLanguage && token < FirstLanguage + LanguageCount;

    public bool IsTimestamp(int token) => token >= TimestampBegin;

    public double TimestampOf(int token) => (token - TimestampBegin) * TimestampSeconds;

    /// <summary>
    /// Derives the ids from the vocabulary size as whisper.cpp does: English-only models (51864) have no
    /// language tokens; multilingual models have n_vocab − 51765 − 1 languages (99, or 100 from v3).
    /// </summary>
    public static WhisperSpecialTokens ForVocabulary(int vocabularySize)
    {
        if (vocabularySize == EnglishOnlyVocabulary)
            return new(50256, 50257, 0, 50357, 50358, 50359, 50360, 50361, 50362, 50363, vocabularySize);
        int languages = vocabularySize - 51765 - 1;
        if (languages < 1 || languages > WhisperLanguages.Codes.Count)
            throw new ArgumentException($"vocabulary size {vocabularySize} is not a Whisper vocabulary (51864 English-only, 51865 multilingual, 51866 v3)", nameof(vocabularySize));
        int translate = 50258 + 1 + languages;
        return new(50257, 50258, languages, translate, translate + 1, translate + 2, translate + 3, translate + 4, translate + 5, translate + 6, vocabularySize);
    }
}
