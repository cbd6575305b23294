using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Wav2Vec2;

/// <summary>
/// Positional conv embedding and the transformer stack. The base family normalises after adding the
/// positional embedding (post-LN layers); the stable family normalises once after the last layer (pre-LN layers).
/// </summary>
public sealed class Wav2Vec2Encoder : nn.Module<Tensor, Tensor?, Tensor>
{
    public readonly Wav2Vec2PositionalConvEmbedding pos_conv_embed;
    public readonly LayerNorm layer_norm;
    private readonly Dropout dropout;
    public readonly ModuleList<Wav2Vec2EncoderLayer> layers;
    private readonly double layerDrop;

    public bool StableLayerNorm { get; }

    public Wav2Vec2Encoder(Wav2Vec2Config config, Device? device = null, FrameLinearPath frameLinear = FrameLinearPath.Auto)
        : base(nameof(Wav2Vec2Encoder))
    {
        StableLayerNorm = config.DoStableLayerNorm;
        layerDrop = config.LayerDrop;
        pos_conv_embed = new Wav2Vec2PositionalConvEmbedding(config, device);
        layer_norm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps, device: device);
        dropout = nn.Dropout(config.HiddenDropout);
        layers = new ModuleList<Wav2Vec2EncoderLayer>();
        for (int i = 0; i < config.NumHiddenLayers; i++) layers.Add(new Wav2Vec2EncoderLayer(config, device, frameLinear));
        RegisterComponents();
    }

    /// <summary>
    /// Projected features (B, T, H) → transformer input: padded frames zeroed (so they do not leak into
    /// valid frames through the positional conv), positional embedding added, and for the post-LN family
    /// the encoder LayerNorm applied.
    /// </summary>
    public Tensor Embed(Tensor hidden, Tensor? frameMask)
    {
        using var scope = torch.NewDisposeScope();
        var h = frameMask is null ? hidden : hidden.masked_fill(frameMask.logical_not().unsqueeze(-1), Zero);
        h = h.add(pos_conv_embed.forward(h), One);
        if (!StableLayerNorm) h = layer_norm.forward(h);
        return dropout.forward(h).MoveToOuterDisposeScope();
    }

    /// <summary>Runs layers [<paramref name="first"/>, <paramref name="first"/> + <paramref name="count"/>), appending each layer's output to <paramref name="layerOutputs"/> when given.</summary>
    public Tensor RunLayers(Tensor hidden, Tensor? frameMask, int first, int count, ICollection<Tensor>? layerOutputs = null)
    {
        if (first < 0 || count < 0 || first + count > layers.Count)
            throw new ArgumentOutOfRangeException(nameof(count), $"layers [{first}, {first + count}) are outside the encoder's {layers.Count} layers");
        using var scope = torch.NewDisposeScope();
        var h = hidden;
        for (int i = first; i < first + count; i++)
        {
            // LayerDrop (training only): the layer is skipped, its output is its input.
            bool skip = training && layerDrop > 0 && torch.rand(1).item<float>() < layerDrop;
            if (!skip) h = layers[i].forward(h, frameMask);
            if (layerOutputs is not null)
            {
                var output = h.alias();
                output.MoveToOuterDisposeScope();
                layerOutputs.Add(output);
            }
        }
        return h.MoveToOuterDisposeScope();
    }

    /// <summary>The encoder's closing norm: <c>encoder.layer_norm</c> for the stable (pre-LN) family, identity for post-LN.</summary>
    public Tensor FinalNorm(Tensor h)
    {
        ArgumentNullException.ThrowIfNull(h);
        return StableLayerNorm ? layer_norm.forward(h) : h.alias();
    }

    /// <summary>Projected features (B, T, H) → last hidden state (B, T, H) (HF <c>last_hidden_state</c>).</summary>
    public override Tensor forward(Tensor hidden, Tensor? frameMask)
    {
        using var scope = torch.NewDisposeScope();
        var h = RunLayers(Embed(hidden, frameMask), frameMask, 0, layers.Count);
        return FinalNorm(h).MoveToOuterDisposeScope();
    }
}
