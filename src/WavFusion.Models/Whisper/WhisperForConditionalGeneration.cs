using TorchSharp;
using static TorchSharp.torch;

namespace WavFusion.Models.Whisper;

/// <summary>
/// Whisper with the key layout of Hugging Face <c>WhisperForConditionalGeneration</c>: <c>model.encoder.*</c>,
/// <c>model.decoder.*</c>; the tied <c>proj_out</c> is the decoder's token embedding, so it has no key of its own.
/// </summary>
public sealed class WhisperForConditionalGeneration : nn.Module
{
    private readonly WhisperModel model;

    public WhisperConfig Config { get; }

    public WhisperForConditionalGeneration(WhisperConfig config) : base(nameof(WhisperForConditionalGeneration))
    {
        config.Validate("WhisperConfig");
        Config = config;
        model = new WhisperModel(nameof(model), config);
        RegisterComponents();
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
