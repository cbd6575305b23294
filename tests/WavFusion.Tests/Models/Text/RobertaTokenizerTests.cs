using System.Text.Json;
using WavFusion.Models.Text;
using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Text;

/// <summary>
/// Byte-level BPE on a hand-built vocabulary whose ids can be worked out by hand. Symbols are GPT-2's
/// byte-to-unicode characters: Ġ = space (0x20), Ċ = newline (0x0A), "Ã©" = é (UTF-8 C3 A9).
/// </summary>
public sealed class RobertaTokenizerTests : IDisposable
{
    private static readonly string[] Vocab =
    [
        "<s>", "<pad>", "</s>", "<unk>",                 // 0-3
        "h", "e", "l", "o", "Ġ", "w", "r", "d",          // 4-11
        "he", "ll", "hell", "hello", "Ġw", "or", "Ġwor", "ld", // 12-19
        "Ã", "©", "Ã©", "Ċ", "!", "'", "s", "'s",        // 20-27
        "<mask>", "el", "lo",                            // 28-30
    ];

    // Rank order matters: "e l" and "l o" come last, so "hello" must merge h+e and l+l first.
    private static readonly string[] Merges =
    [
        "h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", "Ã ©", "' s", "e l", "l o",
    ];

    private readonly TempDir _dir = new();
    private readonly RobertaTokenizer _tok;

    public RobertaTokenizerTests()
    {
        var vocab = Vocab.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i);
        File.WriteAllText(_dir.File("vocab.json"), JsonSerializer.Serialize(vocab));
        File.WriteAllLines(_dir.File("merges.txt"), ["#version: 0.2", .. Merges]);
        _tok = RobertaTokenizer.FromFolder(_dir.Path);
    }

    public void Dispose() => _dir.Dispose();

    private static long[] Row(EncodedBatch batch, int row, Func<EncodedBatch, TorchSharp.torch.Tensor> which) =>
        which(batch)[row].data<long>().ToArray();

    [Theory]
    [InlineData("hello", new[] { 15 })]                        // h e l l o → he l l o → he ll o → hell o → hello
    [InlineData("hello world", new[] { 15, 18, 19 })]          // "Ġworld" → Ġw o r l d → Ġw or l d → Ġwor l d → Ġwor ld
    [InlineData("lol", new[] { 30, 6 })]                       // only "l o" applies
    [InlineData("hello  world", new[] { 15, 8, 18, 19 })]      // \s+(?!\S) leaves one space for the next word
    [InlineData("hello ", new[] { 15, 8 })]                    // trailing space kept
    [InlineData("hello\nworld", new[] { 15, 23, 9, 17, 19 })]  // newline is its own token; "world" has no Ġ
    [InlineData("hello's", new[] { 15, 27 })]                  // contraction split
    [InlineData("hello!", new[] { 15, 24 })]
    [InlineData("hé", new[] { 4, 22 })]                        // é → bytes C3 A9 → Ã ©, merged
    [InlineData("hex", new[] { 12, 3 })]                       // byte 'x' not in this vocabulary → <unk>
    public void Text_encodes_to_hand_computed_ids(string text, int[] expected)
    {
        Assert.Equal(expected, _tok.TokenIds(text));
    }

    [Fact]
    public void Single_texts_are_wrapped_in_s_and_end_s_and_right_padded_with_pad()
    {
        using var batch = _tok.Encode(["hello world", "lol"], maxLength: 16);
        Assert.Equal(new long[] { 2, 5 }, batch.InputIds.shape);
        Assert.Equal(new long[] { 0, 15, 18, 19, 2 }, Row(batch, 0, b => b.InputIds));
        Assert.Equal(new long[] { 0, 30, 6, 2, 1 }, Row(batch, 1, b => b.InputIds));
        Assert.Equal(new long[] { 1, 1, 1, 1, 0 }, Row(batch, 1, b => b.AttentionMask));
        Assert.All(batch.TokenTypeIds.data<long>().ToArray(), t => Assert.Equal(0, t));
        Assert.Equal(TorchSharp.torch.ScalarType.Int64, batch.InputIds.dtype);
    }

    [Fact]
    public void Long_texts_are_truncated_to_max_length_keeping_the_end_token()
    {
        using var batch = _tok.Encode(["hello hello hello hello"], maxLength: 4);
        // hello Ġ hello → the second word is Ġ + hello's bytes, which no merge joins to Ġhello: Ġ, hello.
        Assert.Equal(new long[] { 0, 15, 8, 2 }, Row(batch, 0, b => b.InputIds));
    }

    [Fact]
    public void Pairs_use_a_double_separator_and_truncate_the_longer_text_first()
    {
        using var batch = _tok.EncodePairs([("hello", "hello world"), ("hello world hello", "lol")], maxLength: 8);
        Assert.Equal(new long[] { 0, 15, 2, 2, 15, 18, 19, 2 }, Row(batch, 0, b => b.InputIds));
        // A = 15 18 19 8 15 (5 tokens), B = 30 6: 4 slots → A loses 3 from its end.
        Assert.Equal(new long[] { 0, 15, 18, 2, 2, 30, 6, 2 }, Row(batch, 1, b => b.InputIds));
        Assert.All(batch.AttentionMask.data<long>().ToArray(), m => Assert.Equal(1, m));
    }

    [Fact]
    public void Special_token_ids_come_from_vocab_json()
    {
        Assert.Equal((0, 2, 1), (_tok.StartId, _tok.SeparatorId, _tok.PadId));
    }

    [Fact]
    public void Bad_inputs_are_rejected_clearly()
    {
        Assert.Throws<ArgumentException>(() => _tok.Encode([], 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => _tok.EncodePairs([("a", "b")], 3));
        using var empty = new TempDir();
        var e = Assert.Throws<FileNotFoundException>(() => RobertaTokenizer.FromFolder(empty.Path));
        Assert.Contains("vocab.json", e.Message, StringComparison.Ordinal);
    }
}
