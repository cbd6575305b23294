using TorchSharp;
using TorchSharp.Modules;
using WavFusion.Core.Quantization;
using WavFusion.Models.Layers;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Whisper;

/// <summary>
/// Pre-norm decoder block: causal self-attention over the cached and new tokens, cross-attention to
/// the audio keys/values computed once per audio, then the GELU feed-forward.
/// </summary>
public sealed class WhisperDecoderLayer : nn.Module
{
    private readonly WhisperAttention self_attn;
    private readonly LayerNorm self_attn_layer_norm;
    private readonly WhisperAttention encoder_attn;
    private readonly LayerNorm encoder_attn_layer_norm;
    private readonly nn.Module<Tensor, Tensor> fc1;
    private readonly nn.Module<Tensor, Tensor> fc2;
    private readonly LayerNorm final_layer_norm;

    public WhisperDecoderLayer(string name, long dModel, long heads, long ffnDim, WeightFormat weights = WeightFormat.Fp32) : base(name)
    {
        Weights = weights;
        self_attn = new WhisperAttention(nameof(self_attn), dModel, heads, weights);
        self_attn_layer_norm = nn.LayerNorm(dModel);
        encoder_attn = new WhisperAttention(nameof(encoder_attn), dModel, heads, weights);
        encoder_attn_layer_norm = nn.LayerNorm(dModel);
        fc1 = PackedLayers.Linear(dModel, ffnDim, weights);
        fc2 = PackedLayers.Linear(ffnDim, dModel, weights);
        final_layer_norm = nn.LayerNorm(dModel);
        RegisterComponents();
    }

    /// <summary>How the projections and the feed-forward hold their weights.</summary>
    public WeightFormat Weights { get; }

    /// <summary>
    /// Makes the self-attention projections one matrix product: input-major float32 (see
    /// <see cref="WhisperAttention.FuseQueryKeyValue"/>) before loading, or one packed matrix once packed weights are loaded.
    /// </summary>
    internal void FuseSelfAttention()
    {
        if (Weights == WeightFormat.Fp32) self_attn.FuseQueryKeyValue(inputMajor: true);
        else self_attn.FusePackedQueryKeyValue();
    }

    /// <summary>Cross-attention keys and values of the encoder output (B, S, D), each (B, H, S, D/H).</summary>
    public (Tensor Key, Tensor Value) CrossKeyValue(Tensor encoderHidden) => encoder_attn.KeyValue(encoderHidden);

    /// <summary>
    /// Runs the block on new tokens <paramref name="x"/> (B, T, D) at positions [offset, offset+T),
    /// writing their keys and values into <paramref name="cache"/>.
    /// </summary>
    public Tensor Forward(Tensor x, WhisperLayerCache cache, long offset)
    {
        using var scope = torch.NewDisposeScope();
        long t = x.shape[1];
        var normed = self_attn_layer_norm.forward(x);
        var (q, k, v) = self_attn.QueryKeyValue(normed);
        var (keys, values) = cache.Append(k, v, offset);
        Tensor? mask = null;
        bool causal = false;
        if (t > 1 && offset == 0) causal = true;
        else if (t > 1) mask = torch.ones(t, offset + t, ScalarType.Bool, x.device).tril(offset);
        var h = x.add(self_attn.Attend(q, keys, values, mask, causal), One);

        var crossQuery = encoder_attn.Query(encoder_attn_layer_norm.forward(h));
        // A packed decoder's cache also holds the audio's keys and values in f16, attended on the kernel threads.
        var cross = cache.CrossHalf is { } half
            ? encoder_attn.Attend(crossQuery, half)
            : encoder_attn.Attend(crossQuery, cache.CrossKey, cache.CrossValue);
        h = h.add_(cross, One);
        var ffn = fc2.forward(nn.functional.gelu(fc1.forward(final_layer_norm.forward(h))));
        return h.add_(ffn, One).MoveToOuterDisposeScope();
    }
}
