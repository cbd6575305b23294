using WavFusion.Models.Text;
using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Text;

/// <summary>WordPiece on a hand-built vocab.txt (line number = id).</summary>
public sealed class BertTokenizerTests : IDisposable
{
    private static readonly string[] Vocab =
    [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",   // 0-4
        "hello", "world", ",", "!", "un",               // 5-9
        "##aff", "##able", "cafe", "中", "文",           // 10-14
        "a", "##b", "'", "s", "$",                      // 15-19
        "5", "+", "3", "|", "ab",                        // 20-24
        "xy", "zoe", "𝒳",                                // 25-27
    ];

    private readonly TempDir _dir = new();
    private readonly BertTokenizer _tok;

    public BertTokenizerTests()
    {
        File.WriteAllLines(_dir.File("vocab.txt"), Vocab);
        _tok = BertTokenizer.FromFolder(_dir.Path);
    }

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData("Hello, World!", new[] { 5, 7, 6, 8 })]       // lower-cased, punctuation split
    [InlineData("  hello\t\nworld  ", new[] { 5, 6 })]        // any whitespace separates, none is kept
    [InlineData("unaffable", new[] { 9, 10, 11 })]            // greedy longest-prefix WordPiece
    [InlineData("Café", new[] { 12 })]                        // accent stripped with lower-casing
    [InlineData("中文", new[] { 13, 14 })]                     // CJK characters split individually
    [InlineData("abb abx", new[] { 24, 16, 1 })]              // "ab" then "##b"; a word WordPiece cannot finish → one [UNK]
    [InlineData("hello\tworld\r\nhello\u3000world", new[] { 5, 6, 5, 6 })] // tab, CR/LF and ideographic space separate
    [InlineData("$5+3|", new[] { 19, 20, 21, 22, 23 })]      // ASCII symbols are punctuation to BERT, never dropped
    [InlineData("x\u200By x\u0000y", new[] { 25, 25 })]      // format and control characters are removed, not separators
    [InlineData("ZOË Zoë", new[] { 26, 26 })]                 // Ë → ë → e under lower-casing
    [InlineData("cafe\u0301", new[] { 12 })]                  // a decomposed accent (combining mark) is dropped too
    [InlineData("𝒳", new[] { 27 })]                            // astral-plane character kept whole
    [InlineData("hello's", new[] { 5, 17, 18 })]
    public void Text_encodes_to_hand_computed_ids(string text, int[] expected)
    {
        Assert.Equal(expected, _tok.TokenIds(text));
    }

    [Fact]
    public void Special_token_ids_come_from_vocab_txt()
    {
        Assert.Equal((2, 3, 0), (_tok.StartId, _tok.SeparatorId, _tok.PadId));
        Assert.True(_tok.LowerCase);
    }

    [Fact]
    public void Batch_is_cls_text_sep_padded_with_pad_and_truncated()
    {
        using var batch = _tok.Encode(["hello world", "unaffable hello world", "!"], maxLength: 5);
        Assert.Equal(new long[] { 3, 5 }, batch.InputIds.shape);
        Assert.Equal(new long[] { 2, 5, 6, 3, 0, 2, 9, 10, 11, 3, 2, 8, 3, 0, 0 }, batch.InputIds.data<long>().ToArray());
        Assert.Equal(new long[] { 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 }, batch.AttentionMask.data<long>().ToArray());
    }

    [Fact]
    public void Pairs_mark_the_second_segment_and_its_sep_as_token_type_one()
    {
        using var batch = _tok.EncodePairs([("hello", "world !")], maxLength: 16);
        Assert.Equal(new long[] { 2, 5, 3, 6, 8, 3 }, batch.InputIds.data<long>().ToArray());
        Assert.Equal(new long[] { 0, 0, 0, 1, 1, 1 }, batch.TokenTypeIds.data<long>().ToArray());
    }

    [Fact]
    public void Cased_vocabularies_keep_case_when_tokenizer_config_says_so()
    {
        using var dir = new TempDir();
        File.WriteAllLines(dir.File("vocab.txt"), [.. Vocab, "Hello", "Zoë"]);
        File.WriteAllText(dir.File("tokenizer_config.json"), """{"do_lower_case": false}""");
        var cased = BertTokenizer.FromFolder(dir.Path);
        Assert.False(cased.LowerCase);
        Assert.Equal([28, 5, 29], cased.TokenIds("Hello hello Zoë"));
    }

    [Fact]
    public void Vocab_without_special_tokens_is_rejected_naming_the_token()
    {
        using var dir = new TempDir();
        File.WriteAllLines(dir.File("vocab.txt"), ["[PAD]", "[UNK]", "[CLS]", "hello"]);
        var e = Assert.Throws<ArgumentException>(() => BertTokenizer.FromFolder(dir.Path));
        Assert.Contains("[SEP]", e.Message, StringComparison.Ordinal);
    }
}
