using TorchSharp;
using static TorchSharp.torch;
using WavFusion.Models.Layers;

namespace WavFusion.Models.Branches;

/// <summary>
/// The A-GRU-LVC visual block: X^v1 = SelfAttention(GRU(e^v)), X^v2 = LVC(e^v), X^v = X^v1 ⊕ X^v2 per
/// frame. Without the LVC (Table 4 ablation) X^v = X^v1.
/// </summary>
public sealed class AGruLvc : nn.Module<ModalitySequence, ModalitySequence>
{
    private readonly AttentiveGru agru;
    private readonly LearnableVisualCenter? lvc;

    public AGruLvc(VisualBranchOptions options, Device? device = null) : base(nameof(AGruLvc))
    {
        ArgumentNullException.ThrowIfNull(options);
        agru = new AttentiveGru(options.InputDim, options.GruHiddenPerDirection, options.GruBidirectional, options.Heads, options.Dropout, device);
        if (options.UseLvc)
            lvc = new LearnableVisualCenter(options.InputDim, options.LvcChannels, options.LvcBottleneck, options.LvcCodes, options.LvcOutputDim, device);
        OutputDim = agru.OutputDim + (lvc?.OutputDim ?? 0);
        RegisterComponents();
    }

    public long OutputDim { get; }

    public override ModalitySequence forward(ModalitySequence input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var scope = torch.NewDisposeScope();
        var attended = agru.call(input).Features;
        var output = lvc is null ? attended : torch.cat(new[] { attended, lvc.call(input) }, -1);
        return new ModalitySequence(output.MoveToOuterDisposeScope(), input.Mask);
    }
}
