using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Wav2Vec2;

/// <summary>
/// One transformer layer: post-LN for the base family (<c>h = LN(h + attn(h)); h = FLN(h + FFN(h))</c>),
/// pre-LN for the stable-layer-norm family (<c>h = h + attn(LN(h)); h = h + FFN(FLN(h))</c>).
/// </summary>
public sealed class Wav2Vec2EncoderLayer : nn.Module<Tensor, Tensor?, Tensor>
{
    public readonly Wav2Vec2Attention attention;
    private readonly Dropout dropout;
    public readonly LayerNorm layer_norm;
    public readonly Wav2Vec2FeedForward feed_forward;
    public readonly LayerNorm final_layer_norm;

    public bool StableLayerNorm { get; }

    public Wav2Vec2EncoderLayer(Wav2Vec2Config config, Device? device = null, FrameLinearPath frameLinear = FrameLinearPath.Auto)
        : base(nameof(Wav2Vec2EncoderLayer))
    {
        StableLayerNorm = config.DoStableLayerNorm;
        attention = new Wav2Vec2Attention(config, device, frameLinear);
        dropout = nn.Dropout(config.HiddenDropout);
        layer_norm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps, device: device);
        feed_forward = new Wav2Vec2FeedForward(config, device, frameLinear);
        final_layer_norm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps, device: device);
        RegisterComponents();
    }

    /// <summary>(B, T, H) → (B, T, H). <paramref name="keyMask"/>: (B, T), True = valid key; null = no padding.</summary>
    public override Tensor forward(Tensor hidden, Tensor? keyMask) => ForwardWith(hidden, h => attention.forward(h, keyMask));

    /// <summary>
    /// The layer's residual, LayerNorm and feed-forward structure with <paramref name="attention"/> in place
    /// of self-attention; it receives the (pre-LN: normalised) hidden states and returns (B, T, H).
    /// Tensors created inside <paramref name="attention"/> belong to this call's dispose scope: move out any it keeps.
    /// </summary>
    public Tensor ForwardWith(Tensor hidden, Func<Tensor, Tensor> attention)
    {
        ArgumentNullException.ThrowIfNull(attention);
        using var scope = torch.NewDisposeScope();
        Tensor h;
        if (StableLayerNorm)
        {
            h = hidden.add(dropout.forward(attention(layer_norm.forward(hidden))), One);
            h = h.add(feed_forward.forward(final_layer_norm.forward(h)), One);
        }
        else
        {
            h = layer_norm.forward(hidden.add(dropout.forward(attention(hidden)), One));
            h = final_layer_norm.forward(h.add(feed_forward.forward(h), One));
        }
        return h.MoveToOuterDisposeScope();
    }
}
