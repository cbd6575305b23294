namespace WavFusion.Models.Text;

/// <summary>Hugging Face BertConfig; absent fields take the bert-base-uncased values.</summary>
public sealed class BertConfig : TextEncoderConfig
{
    public BertConfig()
    {
        VocabSize = 30522;
        MaxPositionEmbeddings = 512;
        TypeVocabSize = 2;
        PadTokenId = 0;
        LayerNormEps = 1e-12;
    }

    public static BertConfig Load(string configJsonPath) => LoadJson<BertConfig>(configJsonPath);

    /// <summary>bert-base-uncased: 12 layers, 768 hidden, 12 heads, 3072 feed-forward.</summary>
    public static BertConfig BaseUncased() => new();
}
