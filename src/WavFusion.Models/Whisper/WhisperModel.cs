using TorchSharp;
using WavFusion.Core.Quantization;
using static TorchSharp.torch;

namespace WavFusion.Models.Whisper;

/// <summary>Encoder and decoder under the Hugging Face <c>model.</c> key prefix.</summary>
public sealed class WhisperModel : nn.Module
{
    private readonly WhisperEncoder encoder;
    private readonly WhisperDecoder decoder;

    public WhisperModel(string name, WhisperConfig config, WeightFormat decoderWeights = WeightFormat.Fp32) : base(name)
    {
        encoder = new WhisperEncoder(nameof(encoder), config);
        decoder = new WhisperDecoder(nameof(decoder), config, decoderWeights);
        RegisterComponents();
    }

    public WhisperEncoder Encoder => encoder;
    public WhisperDecoder Decoder => decoder;
}
