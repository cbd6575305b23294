using TorchSharp;
using TorchSharp.Modules;
using WavFusion.Core.Quantization;
using WavFusion.Core.Runtime;
using WavFusion.Models.Layers;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Whisper;

/// <summary>
/// Text decoder: token + learned position embeddings, pre-norm blocks, final layer norm, and logits
/// through the token embedding itself (the output projection is tied). With packed weights (<see cref="Weights"/>
/// f16 or int8) every projection of the layers and the tied token table are held packed and multiplied by
/// <see cref="PackedMatrix"/>'s kernels; norms, attention scores and the positional embedding stay float32.
/// </summary>
public sealed class WhisperDecoder : nn.Module
{
    private readonly nn.Module<Tensor, Tensor> embed_tokens;
    private readonly Embedding embed_positions;
    private readonly ModuleList<WhisperDecoderLayer> layers;
    private readonly LayerNorm layer_norm;

    public WhisperConfig Config { get; }

    public WeightFormat Weights { get; }

    public WhisperDecoder(string name, WhisperConfig config, WeightFormat weights = WeightFormat.Fp32) : base(name)
    {
        Config = config;
        Weights = weights;
        embed_tokens = weights == WeightFormat.Fp32
            ? nn.Embedding(config.VocabSize, config.DModel)
            : new PackedEmbedding(nameof(embed_tokens), config.VocabSize, config.DModel, weights);
        embed_positions = nn.Embedding(config.MaxTargetPositions, config.DModel);
        layers = new ModuleList<WhisperDecoderLayer>(Enumerable.Range(0, config.DecoderLayers)
            .Select(i => new WhisperDecoderLayer($"{i}", config.DModel, config.DecoderAttentionHeads, config.DecoderFfnDim, weights)).ToArray());
        layer_norm = nn.LayerNorm(config.DModel);
        RegisterComponents();
        if (weights != WeightFormat.Fp32) return;
        // A decoding step multiplies one row by every weight matrix. libtorch's matrix-vector path reads
        // an (out, in) row-major weight at half the speed of its transpose, and the step is bound by
        // reading weights (the tied 51865-row logits projection most of all), so each weight keeps its
        // (out, in) shape and key but is stored input-major. Loading copies into it in place, keeping the layout.
        using (torch.no_grad())
        {
            foreach (var linear in modules().OfType<Linear>()) linear.weight = InputMajor(linear.weight!);
            var embedding = (Embedding)embed_tokens;
            embedding.weight = InputMajor(embedding.weight!);
        }
        // A step's self-attention then reads its q/k/v weights in one matrix-vector product, not three.
        foreach (var layer in layers) layer.FuseSelfAttention();
    }

    /// <summary>
    /// State-dict keys (<c>model.decoder.…</c>) of the weights a packed decoder of <paramref name="config"/> holds packed:
    /// every projection of its layers and the tied token table. (A test checks this against the modules.)
    /// </summary>
    public static HashSet<string> PackedKeys(WhisperConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var keys = new HashSet<string>(StringComparer.Ordinal) { "model.decoder.embed_tokens.weight" };
        for (int i = 0; i < config.DecoderLayers; i++)
        {
            foreach (var attention in new[] { "self_attn", "encoder_attn" })
                foreach (var projection in new[] { "q_proj", "k_proj", "v_proj", "out_proj" })
                    keys.Add($"model.decoder.layers.{i}.{attention}.{projection}.weight");
            keys.Add($"model.decoder.layers.{i}.fc1.weight");
            keys.Add($"model.decoder.layers.{i}.fc2.weight");
        }
        return keys;
    }

    /// <summary>Fuses each self-attention's packed q/k/v weights into one matrix; the loader calls it once they are loaded.</summary>
    internal void FinishPacking()
    {
        if (Weights == WeightFormat.Fp32) return;
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
            // Decoding steps read these keys and values once per token: a packed decoder reads them as f16.
            var half = Weights != WeightFormat.Fp32 && shared ? HalfKeyValues.TryCreate(k, v) : null;
            if (rowsPerAudio > 1)
            {
                (k, v) = shared
                    ? (k.expand(rowsPerAudio, -1, -1, -1), v.expand(rowsPerAudio, -1, -1, -1))
                    : (k.repeat_interleave(rowsPerAudio, 0), v.repeat_interleave(rowsPerAudio, 0));
            }
            caches[i] = new WhisperLayerCache(k.DetachFromDisposeScope(), v.DetachFromDisposeScope(), Config.MaxTargetPositions, shared, half);
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
        // A packed step's weight products run on the kernel threads; its small libtorch operators run on this thread
        // alone rather than waking an OpenMP team for each (see OpenMpThreads). Longer inputs keep the team.
        using var team = Weights != WeightFormat.Fp32 && tokens.numel() <= PackedMatrix.SmallBatch ? OpenMpThreads.Limit(1) : default;
        using var scope = torch.NewDisposeScope();
        var x = embed_tokens.forward(tokens).add(embed_positions.weight!.narrow(0, offset, t), One);
        for (int i = 0; i < layers.Count; i++) x = layers[i].Forward(x, cache.Layer(i), offset);
        if (firstLogit > 0) x = x.narrow(1, firstLogit, t - firstLogit);
        x = layer_norm.forward(x);
        if (embed_tokens is PackedEmbedding packed) return packed.Project(x).MoveToOuterDisposeScope();
        // linear() hands the tied weight to BLAS as transposed; matmul with weight.t() may copy 51865 x d first.
        return nn.functional.linear(x, ((Embedding)embed_tokens).weight!).MoveToOuterDisposeScope();
    }
}
