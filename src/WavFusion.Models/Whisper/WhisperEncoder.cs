using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Whisper;

/// <summary>
/// Audio encoder: two GELU convolutions (the second halves the frame rate), sinusoidal positions,
/// pre-norm blocks, final layer norm. Input (B, n_mels, frames) → (B, frames/2, d_model).
/// </summary>
public sealed class WhisperEncoder : nn.Module<Tensor, Tensor>
{
    private readonly Conv1d conv1;
    private readonly Conv1d conv2;
    private readonly Embedding embed_positions;
    private readonly ModuleList<WhisperEncoderLayer> layers;
    private readonly LayerNorm layer_norm;

    public WhisperConfig Config { get; }

    public WhisperEncoder(string name, WhisperConfig config) : base(name)
    {
        Config = config;
        conv1 = nn.Conv1d(config.NumMelBins, config.DModel, 3, padding: 1);
        conv2 = nn.Conv1d(config.DModel, config.DModel, 3, stride: 2, padding: 1);
        embed_positions = nn.Embedding(config.MaxSourcePositions, config.DModel);
        layers = new ModuleList<WhisperEncoderLayer>(Enumerable.Range(0, config.EncoderLayers)
            .Select(i => new WhisperEncoderLayer($"{i}", config.DModel, config.EncoderAttentionHeads, config.EncoderFfnDim)).ToArray());
        layer_norm = nn.LayerNorm(config.DModel);
        RegisterComponents();
    }

    /// <summary>The position table, for callers that build it themselves (the sinusoids of openai-whisper).</summary>
    public Tensor PositionTable => embed_positions.weight!;

    /// <remarks>
    /// Shorter inputs than 2·max_source_positions frames are accepted (they use the first positions),
    /// which is what whisper.cpp's reduced audio context does; the published models were trained on 30 s.
    /// </remarks>
    public override Tensor forward(Tensor inputFeatures)
    {
        if (inputFeatures.dim() != 3 || inputFeatures.shape[1] != Config.NumMelBins)
            throw new ArgumentException($"input features must be (batch, {Config.NumMelBins}, frames), got [{string.Join(", ", inputFeatures.shape)}]", nameof(inputFeatures));
        long positions = (inputFeatures.shape[2] + 1) / 2;
        if (positions > Config.MaxSourcePositions)
            throw new ArgumentException($"input has {inputFeatures.shape[2]} frames; the encoder takes at most {2 * Config.MaxSourcePositions}", nameof(inputFeatures));
        using var scope = torch.NewDisposeScope();
        var x = nn.functional.gelu(conv1.forward(inputFeatures));
        x = nn.functional.gelu(conv2.forward(x)).transpose(1, 2);
        x = x.add(embed_positions.weight!.narrow(0, 0, positions), One);
        foreach (var layer in layers) x = layer.forward(x);
        return layer_norm.forward(x).MoveToOuterDisposeScope();
    }
}
