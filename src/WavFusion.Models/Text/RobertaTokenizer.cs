using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace WavFusion.Models.Text;

/// <summary>
/// The RoBERTa / GPT-2 byte-level BPE tokenizer of a Hugging Face folder (vocab.json + merges.txt), on
/// Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/>. No prefix space is added (transformers' default),
/// so a text's first word encodes without Ġ.
/// </summary>
public sealed class RobertaTokenizer : TextTokenizer
{
    private static readonly string[] SpecialTokenNames = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"];

    private readonly BpeTokenizer _bpe;

    private RobertaTokenizer(BpeTokenizer bpe, IReadOnlyDictionary<string, int> specials)
        : base(specials["<s>"], specials["</s>"], specials["<pad>"], doubleSeparatorBetweenPairs: true, secondSegmentIsTypeOne: false)
    {
        _bpe = bpe;
    }

    public static RobertaTokenizer FromFolder(string folder)
    {
        string vocabPath = Path.Combine(folder, "vocab.json");
        string mergesPath = Path.Combine(folder, "merges.txt");
        if (!File.Exists(vocabPath)) throw new FileNotFoundException($"{folder}: no vocab.json", vocabPath);
        if (!File.Exists(mergesPath)) throw new FileNotFoundException($"{folder}: no merges.txt", mergesPath);

        Dictionary<string, int> vocab;
        try
        {
            vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(vocabPath))
                ?? throw new ArgumentException($"{vocabPath}: vocab.json is null");
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{vocabPath}: not a token → id JSON object: {e.Message}", e);
        }
        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var name in SpecialTokenNames)
            if (vocab.TryGetValue(name, out int id)) specials[name] = id;
        foreach (var required in new[] { "<s>", "</s>", "<pad>", "<unk>" })
            if (!specials.ContainsKey(required)) throw new ArgumentException($"{vocabPath}: special token {required} is missing");

        var merges = new List<string>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(mergesPath))
        {
            lineNo++;
            if (line.StartsWith("#version", StringComparison.Ordinal) || line.Length == 0) continue;
            if (line.Split(' ').Length != 2) throw new ArgumentException($"{mergesPath}:{lineNo}: a merge must be two symbols separated by one space, got '{line}'");
            merges.Add(line);
        }

        var bpe = BpeTokenizer.Create(new BpeOptions(vocab)
        {
            Merges = merges,
            ByteLevel = true,
            // Without an explicit pre-tokenizer, byte-level BpeTokenizer drops spaces and newlines (dotnet/machinelearning#7715).
            PreTokenizer = new RegexPreTokenizer(ByteLevel.Pretokenizer(), specials),
            SpecialTokens = specials,
            UnknownToken = "<unk>",
        });
        return new RobertaTokenizer(bpe, specials);
    }

    public override IReadOnlyList<int> TokenIds(string text) => _bpe.EncodeToIds(text);
}
