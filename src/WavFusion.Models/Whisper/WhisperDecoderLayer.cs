using TorchSharp;
using TorchSharp.Modules;
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
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly LayerNorm final_layer_norm;

    public WhisperDecoderLayer(string name, long dModel, long heads, long ffnDim) : base(name)
    {
        self_attn = new WhisperAttention(nameof(self_attn), dModel, heads);
        self_attn_layer_norm = nn.LayerNorm(dModel);
        encoder_attn = new WhisperAttention(nameof(encoder_attn), dModel, heads);
        encoder_attn_layer_norm = nn.LayerNorm(dModel);
        fc1 = nn.Linear(dModel, ffnDim);
        fc2 = nn.Linear(ffnDim, dModel);
        final_layer_norm = nn.LayerNorm(dModel);
        RegisterComponents();
    }

    /// <summary>Makes the self-attention projections one input-major matrix product (see <see cref="WhisperAttention.FuseQueryKeyValue"/>).</summary>
    internal void FuseSelfAttention() => self_attn.FuseQueryKeyValue(inputMajor: true);

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

        var cross = encoder_attn.Attend(encoder_attn.Query(encoder_attn_layer_norm.forward(h)), cache.CrossKey, cache.CrossValue);
        h = h.add_(cross, One);
        var ffn = fc2.forward(nn.functional.gelu(fc1.forward(final_layer_norm.forward(h))));
        return h.add_(ffn, One).MoveToOuterDisposeScope();
    }
}
