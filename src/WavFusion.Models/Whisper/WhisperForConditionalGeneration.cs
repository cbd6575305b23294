using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Core.Quantization;
using WavFusion.Models.Layers;
using static TorchSharp.torch;

namespace WavFusion.Models.Whisper;

/// <summary>
/// Whisper with the key layout of Hugging Face <c>WhisperForConditionalGeneration</c>: <c>model.encoder.*</c>,
/// <c>model.decoder.*</c>; the tied <c>proj_out</c> is the decoder's token embedding, so it has no key of its own.
/// With packed decoder weights (<see cref="DecoderWeights"/>) the decoder's matrices are not parameters: load
/// through <see cref="LoadWeights"/>, which packs them (or takes ggml's stored blocks) as it goes.
/// </summary>
public sealed class WhisperForConditionalGeneration : nn.Module
{
    private readonly WhisperModel model;

    public WhisperConfig Config { get; }

    public WhisperForConditionalGeneration(WhisperConfig config, WeightFormat decoderWeights = WeightFormat.Fp32) : base(nameof(WhisperForConditionalGeneration))
    {
        config.Validate("WhisperConfig");
        Config = config;
        DecoderWeights = decoderWeights;
        model = new WhisperModel(nameof(model), config, decoderWeights);
        RegisterComponents();
    }

    /// <summary>How the decoder holds its weights (the encoder is always float32).</summary>
    public WeightFormat DecoderWeights { get; }

    /// <summary>The packed layers by the state-dict key of their weight (empty for fp32).</summary>
    public IReadOnlyDictionary<string, IPackedWeight> PackedWeights() => PackedLayers.Find(this);

    /// <summary>Bytes of the weights as held: float32 parameters and buffers plus packed matrices.</summary>
    public (long Dense, long Packed) WeightBytes()
    {
        long dense = parameters().Sum(p => p.numel() * p.element_size()) + buffers().Sum(b => b.numel() * b.element_size());
        long packed = PackedWeights().Values.Sum(p => p.WeightBytes);
        return (dense, packed);
    }

    /// <summary>
    /// Loads <paramref name="dense"/> (Hugging Face keys) into the parameters and packs the packed layers' weights from
    /// <paramref name="packedSources"/> where it holds them (ggml blocks, converted without a float32 copy) or from
    /// <paramref name="dense"/>. Every missing, unexpected or mis-shaped key is reported before anything is loaded.
    /// </summary>
    public LoadReport LoadWeights(IReadOnlyDictionary<string, Tensor> dense, string source,
        IReadOnlyDictionary<string, IPackedSource>? packedSources = null)
    {
        ArgumentNullException.ThrowIfNull(dense);
        var packed = PackedWeights();
        var missing = new List<string>();
        var shapes = new List<string>();
        foreach (var (key, target) in packed)
        {
            long[]? shape = packedSources is not null && packedSources.TryGetValue(key, out var raw) ? raw.Shape
                : dense.TryGetValue(key, out var t) ? t.shape : null;
            if (shape is null) missing.Add(key);
            else if (!shape.SequenceEqual(target.WeightShape))
                shapes.Add($"{key}: checkpoint [{string.Join(", ", shape)}] vs model [{string.Join(", ", target.WeightShape)}]");
        }
        var rest = dense.Where(p => !packed.ContainsKey(p.Key)).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        if (missing.Count > 0 || shapes.Count > 0)
            throw new CheckpointException(new LoadReport(source, [], missing.Order(StringComparer.Ordinal).ToList(), [], shapes, []).Describe());
        var result = StateDictLoader.Load(this, rest, source);
        foreach (var (key, target) in packed)
        {
            var matrix = packedSources is not null && packedSources.TryGetValue(key, out var raw)
                ? raw.Pack(target.Format, $"{source}: {key}")
                : PackedMatrix.Pack(dense[key], target.Format, $"{source}: {key}");
            target.SetWeight(matrix);
        }
        model.Decoder.FinishPacking();
        return result;
    }

    public WhisperEncoder Encoder => model.Encoder;
    public WhisperDecoder Decoder => model.Decoder;

    /// <summary>Encoder output (B, frames/2, d_model) of log-mel features (B, n_mels, frames).</summary>
    public Tensor Encode(Tensor inputFeatures) => model.Encoder.forward(inputFeatures);

    /// <summary>A decoding cache for <paramref name="rowsPerAudio"/> sequences (beams, samples) per audio.</summary>
    public WhisperKvCache CreateCache(Tensor encoderHidden, int rowsPerAudio = 1) => model.Decoder.CreateCache(encoderHidden, rowsPerAudio);

    /// <summary>Logits of <paramref name="tokens"/> (B, T) appended to the cached sequence, from position <paramref name="firstLogit"/> on.</summary>
    public Tensor Decode(Tensor tokens, WhisperKvCache cache, long firstLogit = 0) => model.Decoder.Forward(tokens, cache, firstLogit);
}
