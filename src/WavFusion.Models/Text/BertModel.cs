using WavFusion.Core.Checkpoints;

namespace WavFusion.Models.Text;

/// <summary>Hugging Face BertModel: absolute position ids 0..T−1 and two token types.</summary>
public sealed class BertModel : TextEncoderModel
{
    /// <summary>The prefix BertForPreTraining / BertForMaskedLM put on the encoder's keys.</summary>
    public const string CheckpointPrefix = "bert.";

    public BertModel(BertConfig config) : base(nameof(BertModel), config, PositionIdScheme.Absolute) { }

    /// <summary>
    /// Loads a Hugging Face folder (config.json + safetensors, sharded or pytorch_model.bin weights) or a weights file beside its
    /// config.json; <c>bert.</c> prefixes are stripped, <c>cls.*</c> heads ignored.
    /// </summary>
    public static BertModel FromPretrained(string folderOrFile)
    {
        var (config, weights) = ResolveFiles(folderOrFile);
        var model = ModuleLoading.BuildAndLoad(() => new BertModel(BertConfig.Load(config)), m => LoadWeights(m, weights, CheckpointPrefix));
        model.eval();
        return model;
    }
}
