using WavFusion.Models.Text;

namespace WavFusion.Tests.Text;

/// <summary>
/// The Hugging Face BertModel / RobertaModel state-dict layout written out from the public key list
/// (modeling_bert.py / modeling_roberta.py), independently of our module code.
/// </summary>
internal static class ExpectedTextLayout
{
    public static SortedDictionary<string, long[]> For(TextEncoderConfig c, bool withPooler = true)
    {
        long h = c.HiddenSize, f = c.IntermediateSize;
        var table = new SortedDictionary<string, long[]>(StringComparer.Ordinal)
        {
            ["embeddings.word_embeddings.weight"] = [c.VocabSize, h],
            ["embeddings.position_embeddings.weight"] = [c.MaxPositionEmbeddings, h],
            ["embeddings.token_type_embeddings.weight"] = [c.TypeVocabSize, h],
            ["embeddings.LayerNorm.weight"] = [h],
            ["embeddings.LayerNorm.bias"] = [h],
        };
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            string p = $"encoder.layer.{i}.";
            foreach (var proj in new[] { "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense" })
            {
                table[p + proj + ".weight"] = [h, h];
                table[p + proj + ".bias"] = [h];
            }
            table[p + "intermediate.dense.weight"] = [f, h];
            table[p + "intermediate.dense.bias"] = [f];
            table[p + "output.dense.weight"] = [h, f];
            table[p + "output.dense.bias"] = [h];
            foreach (var ln in new[] { "attention.output.LayerNorm", "output.LayerNorm" })
            {
                table[p + ln + ".weight"] = [h];
                table[p + ln + ".bias"] = [h];
            }
        }
        if (withPooler)
        {
            table["pooler.dense.weight"] = [h, h];
            table["pooler.dense.bias"] = [h];
        }
        return table;
    }

    public static string Describe(IEnumerable<KeyValuePair<string, long[]>> table) =>
        string.Join("\n", table.Select(kv => $"{kv.Key} [{string.Join(", ", kv.Value)}]"));
}
