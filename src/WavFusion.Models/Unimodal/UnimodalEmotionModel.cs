using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using WavFusion.Models.Layers;
using WavFusion.Models.Branches;

namespace WavFusion.Models.Unimodal;

/// <summary>
/// Table 3's text-only and visual-only rows: WavFusion's <see cref="TextBranch"/> or <see cref="AGruLvc"/>
/// block over frozen encoder features, mean over valid frames, dropout, linear classifier. Keys:
/// <c>text_branch.*</c> or <c>visual_branch.*</c> (as in <see cref="WavFusionModel"/>), <c>classifier.*</c>.
/// </summary>
public sealed class UnimodalEmotionModel : nn.Module<ModalitySequence, UnimodalOutput>
{
    private readonly TextBranch? text_branch;
    private readonly AGruLvc? visual_branch;
    private readonly Linear classifier;

    /// <param name="config">Validated on construction.</param>
    /// <param name="device">Where parameters live; <c>torch.META</c> inspects the layout without allocating.</param>
    public UnimodalEmotionModel(UnimodalConfig config, Device? device = null) : base(nameof(UnimodalEmotionModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        long width;
        if (config.Stream == UnimodalStream.Text)
        {
            text_branch = new TextBranch(config.TextDim, config.TextGruHidden, config.TextHeads, config.BranchDropout, device);
            width = text_branch.OutputDim;
        }
        else
        {
            visual_branch = new AGruLvc(config.VisualOptions, device);
            width = visual_branch.OutputDim;
        }
        classifier = nn.Linear(width, config.NumClasses, device: device);
        RegisterComponents();
    }

    public UnimodalConfig Config { get; }

    /// <param name="input">(B, T, input dim) features of the configured stream with their mask.</param>
    public override UnimodalOutput forward(ModalitySequence input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Width != Config.InputDim)
            throw new ArgumentException(
                $"{Config.Stream.ToString().ToLowerInvariant()} features have width {input.Width}; the model expects {Config.InputDim}", nameof(input));
        using var scope = torch.NewDisposeScope();
        var encoded = text_branch is not null ? text_branch.call(input) : visual_branch!.call(input);
        var pooled = encoded.MeanOverValid();
        var logits = classifier.call(nn.functional.dropout(pooled, Config.ClassifierDropout, training));
        return new UnimodalOutput(logits.MoveToOuterDisposeScope(), torch.softmax(logits, -1).MoveToOuterDisposeScope(), pooled.MoveToOuterDisposeScope());
    }
}
