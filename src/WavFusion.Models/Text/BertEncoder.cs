using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace WavFusion.Models.Text;

/// <summary>The stack of transformer layers (HF BertEncoder: field <c>layer</c>, children "0", "1", …).</summary>
public sealed class BertEncoder : nn.Module
{
    public readonly ModuleList<BertLayer> layer;

    public BertEncoder(TextEncoderConfig config) : base(nameof(BertEncoder))
    {
        layer = new ModuleList<BertLayer>();
        for (int i = 0; i < config.NumHiddenLayers; i++) layer.Add(new BertLayer(config));
        RegisterComponents();
    }

    /// <returns>The output of every layer, in order; the last one is the encoder output.</returns>
    public IReadOnlyList<Tensor> forward(Tensor hidden, Tensor additiveMask)
    {
        using var scope = torch.NewDisposeScope();
        var outputs = new List<Tensor>(layer.Count);
        var h = hidden;
        foreach (var l in layer)
        {
            h = l.forward(h, additiveMask);
            outputs.Add(h);
        }
        foreach (var o in outputs) o.MoveToOuterDisposeScope();
        return outputs;
    }
}
