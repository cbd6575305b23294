using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Whisper;

/// <summary>
/// Text decoder: token + learned position embeddings, pre-norm blocks, final layer norm, and logits
/// through the token embedding itself (the output projection is tied).
/// </summary>
public sealed class WhisperDecoder : nn.Module
{
    private readonly Embedding embed_tokens;
    private readonly Embedding embed_positions;
    private readonly ModuleList<WhisperDecoderLayer> layers;
    private readonly LayerNorm layer_norm;

    public WhisperConfig Config { get; }

    public WhisperDecoder(string name, WhisperConfig config) : base(name)
    {
        Config = config;
        embed_tokens = nn.Embedding(config.VocabSize, config.DModel);
        embed_positions = nn.Embedding(config.MaxTargetPositions, config.DModel);
        layers = new ModuleList<WhisperDecoderLayer>(Enumerable.Range(0, config.DecoderLayers)
            .Select(i => new WhisperDecoderLayer($"{i}", config.DModel, config.DecoderAttentionHeads, config.DecoderFfnDim)).ToArray());
        layer_norm = nn.LayerNorm(config.DModel);
        RegisterComponents();
        // A decoding step multiplies one row by every weight matrix. libtorch's matrix-vector path reads
        // an (out, in) row-major weight at half the speed of its transpose, and the step is bound by
        // reading weights (the tied 51865-row logits projection most of all), so each weight keeps its
        // (out, in) shape and key but is stored input-major. Loading copies into it in place, keeping the layout.
        using (torch.no_grad())
        {
            foreach (var linear in modules().OfType<Linear>()) linear.weight = InputMajor(linear.weight!);
            embed_tokens.weight = InputMajor(embed_tokens.weight!);
        }
        // A step's self-attention then reads its q/k/v weights in one matrix-vector product, not three.
        foreach (var layer in layers) layer.FuseSelfAttention();
    }

    private static Parameter InputMajor(Parameter weight) => new(weight.t().contiguous().t(), weight.requires_grad);

    /// <summary>
    /// A cache holding the cross-attention keys/values of <paramref name="encoderHidden"/> (B, S, D), for
    /// <paramref name="rowsPerAudio"/> sequences per audio (beams or samples). With one audio the rows
    /// share one copy of the keys/values (a broadcast view), so beams cost no extra cross-attention projection.
    /// </summary>
    public WhisperKvCache CreateCache(Tensor encoderHidden, int rowsPerAudio = 1)
    {
        if (encoderHidden.dim() != 3 || encoderHidden.shape[2] != Config.DModel)
            throw new ArgumentException($"encoder output must be (batch, positions, {Config.DModel}), got [{string.Join(", ", encoderHidden.shape)}]", nameof(encoderHidden));
        ArgumentOutOfRangeException.ThrowIfLessThan(rowsPerAudio, 1);
        using var scope = torch.NewDisposeScope();
        long audios = encoderHidden.shape[0];
        bool shared = audios == 1;
        var caches = new WhisperLayerCache[layers.Count];
        for (int i = 0; i < caches.Length; i++)
        {
            var (k, v) = layers[i].CrossKeyValue(encoderHidden);
            (k, v) = (k.contiguous(), v.contiguous());
            if (rowsPerAudio > 1)
            {
                (k, v) = shared
                    ? (k.expand(rowsPerAudio, -1, -1, -1), v.expand(rowsPerAudio, -1, -1, -1))
                    : (k.repeat_interleave(rowsPerAudio, 0), v.repeat_interleave(rowsPerAudio, 0));
            }
            caches[i] = new WhisperLayerCache(k.DetachFromDisposeScope(), v.DetachFromDisposeScope(), Config.MaxTargetPositions, shared);
        }
        return new WhisperKvCache(caches, Config.MaxTargetPositions, audios * rowsPerAudio);
    }

    /// <summary>
    /// Decodes <paramref name="tokens"/> (B, T) following the tokens already in <paramref name="cache"/>
    /// and returns logits (B, T − firstLogit, vocab) of positions [firstLogit, T): projecting every prompt
    /// position onto the vocabulary would cost more than the decoder itself.
    /// </summary>
    public Tensor Forward(Tensor tokens, WhisperKvCache cache, long firstLogit = 0)
    {
        if (tokens.dim() != 2 || tokens.shape[0] != cache.BatchSize)
            throw new ArgumentException($"tokens must be (batch {cache.BatchSize}, length), got [{string.Join(", ", tokens.shape)}]", nameof(tokens));
        long t = tokens.shape[1];
        if (firstLogit < 0 || firstLogit >= t) throw new ArgumentOutOfRangeException(nameof(firstLogit), firstLogit, $"must lie in [0, {t})");
        long offset = cache.Reserve(t);
        using var scope = torch.NewDisposeScope();
        var x = embed_tokens.forward(tokens).add(embed_positions.weight!.narrow(0, offset, t), One);
        for (int i = 0; i < layers.Count; i++) x = layers[i].Forward(x, cache.Layer(i), offset);
        if (firstLogit > 0) x = x.narrow(1, firstLogit, t - firstLogit);
        x = layer_norm.forward(x);
        // linear() hands the tied weight to BLAS as transposed; matmul with weight.t() may copy 51865 x d first.
        return nn.functional.linear(x, embed_tokens.weight!).MoveToOuterDisposeScope();
    }
}
