using WavFusion.Core.Checkpoints;

namespace WavFusion.Models.Text;

/// <summary>
/// Hugging Face RobertaModel: BERT layers with position ids counted from the padding index
/// (<see cref="PositionIdScheme.FromPadding"/>) and a single token type.
/// </summary>
public sealed class RobertaModel : TextEncoderModel
{
    /// <summary>The prefix RobertaForMaskedLM / RobertaForSequenceClassification put on the encoder's keys.</summary>
    public const string CheckpointPrefix = "roberta.";

    public RobertaModel(RobertaConfig config) : base(nameof(RobertaModel), config, PositionIdScheme.FromPadding) { }

    /// <summary>
    /// Loads a Hugging Face folder (config.json + safetensors, sharded or pytorch_model.bin weights) or a weights file beside its
    /// config.json; <c>roberta.</c> prefixes are stripped, <c>lm_head.*</c> ignored, the pooler may be absent.
    /// </summary>
    public static RobertaModel FromPretrained(string folderOrFile)
    {
        var (config, weights) = ResolveFiles(folderOrFile);
        var model = ModuleLoading.BuildAndLoad(() => new RobertaModel(RobertaConfig.Load(config)), m => LoadWeights(m, weights, CheckpointPrefix));
        model.eval();
        return model;
    }
}
