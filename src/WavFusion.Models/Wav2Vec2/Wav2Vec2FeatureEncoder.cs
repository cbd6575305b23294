using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace WavFusion.Models.Wav2Vec2;

/// <summary>The convolutional feature encoder (HF <c>feature_extractor</c>): raw samples (B, L) → features (B, frames, conv_dim[-1]).</summary>
public sealed class Wav2Vec2FeatureEncoder : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<Wav2Vec2FeatureEncoderLayer> conv_layers;

    public Wav2Vec2FeatureEncoder(Wav2Vec2Config config, Device? device = null) : base(nameof(Wav2Vec2FeatureEncoder))
    {
        conv_layers = new ModuleList<Wav2Vec2FeatureEncoderLayer>();
        for (int i = 0; i < config.ConvLayerCount; i++) conv_layers.Add(new Wav2Vec2FeatureEncoderLayer(config, i, device));
        RegisterComponents();
    }

    public override Tensor forward(Tensor inputValues)
    {
        using var scope = torch.NewDisposeScope();
        var x = inputValues.unsqueeze(1);
        foreach (var layer in conv_layers) x = layer.forward(x);
        return x.transpose(1, 2).MoveToOuterDisposeScope();
    }
}
