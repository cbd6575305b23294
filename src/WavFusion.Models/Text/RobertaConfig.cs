namespace WavFusion.Models.Text;

/// <summary>Hugging Face RobertaConfig; absent fields take the roberta-base values.</summary>
public sealed class RobertaConfig : TextEncoderConfig
{
    public RobertaConfig()
    {
        VocabSize = 50265;
        MaxPositionEmbeddings = 514;
        TypeVocabSize = 1;
        PadTokenId = 1;
        LayerNormEps = 1e-5;
    }

    public static RobertaConfig Load(string configJsonPath) => LoadJson<RobertaConfig>(configJsonPath);

    /// <summary>roberta-base: 12 layers, 768 hidden, 12 heads, 3072 feed-forward.</summary>
    public static RobertaConfig Base() => new();
}
