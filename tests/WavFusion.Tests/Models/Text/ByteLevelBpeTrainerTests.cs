using WavFusion.Models.Text;
using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Text;

public sealed class ByteLevelBpeTrainerTests
{
    // "aaab aaab" pre-tokenizes to "aaab" and "Ġaaab". Pair counts: (a,a) 4, (a,b) 2, (Ġ,a) 1 → merge a+a.
    // Then (aa,a) 2 and (a,b) 2 tie; the ordinally smaller pair (a,b) wins. Then (aa,ab) 2 → "aaab".
    // (Ġ,aaab) occurs once, below the minimum frequency 2, so training stops after three merges.
    [Fact]
    public void Merges_follow_pair_frequency_with_ordinal_tie_break()
    {
        var bpe = ByteLevelBpeTrainer.Train(["aaab aaab"], maxMerges: 100);
        Assert.Equal([("a", "a"), ("a", "b"), ("aa", "ab")], bpe.Merges);
        Assert.Equal(4 + 256 + 3 + 1, bpe.Size);
        Assert.Equal(0, bpe.Vocab["<s>"]);
        Assert.Equal(3, bpe.Vocab["<unk>"]);
        Assert.Equal(4 + 'a', bpe.Vocab["a"]);
        Assert.Equal(260, bpe.Vocab["aa"]);
        Assert.Equal(bpe.Size - 1, bpe.Vocab["<mask>"]);
    }

    [Fact]
    public void Max_merges_bounds_training()
    {
        var bpe = ByteLevelBpeTrainer.Train(["aaab aaab"], maxMerges: 1);
        Assert.Equal([("a", "a")], bpe.Merges);
    }

    [Fact]
    public void Saved_files_load_into_the_roberta_tokenizer()
    {
        using var dir = new TempDir();
        string[] corpus = ["I love the garden, it was wonderful!", "I love the garden today.", "The garden was wonderful."];
        ByteLevelBpeTrainer.Train(corpus, maxMerges: 200).Save(dir.Path);
        var tokenizer = RobertaTokenizer.FromFolder(dir.Path);
        var vocab = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(dir.File("vocab.json")))!;

        // Frequent words became whole tokens ("Ġ" spells the leading space).
        Assert.Equal([vocab["I"], vocab["Ġlove"], vocab["Ġthe"], vocab["Ġgarden"]], tokenizer.TokenIds("I love the garden"));
        // A word never seen falls back to byte symbols, never to <unk>.
        var unseen = tokenizer.TokenIds("zq");
        Assert.Equal([vocab["z"], vocab["q"]], unseen);
        // Non-ASCII text is spelled byte by byte: é is two UTF-8 bytes.
        Assert.Equal(2, tokenizer.TokenIds("é").Count);
    }
}
