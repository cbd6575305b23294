using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace WavFusion.Models.Wav2Vec2;

/// <summary>
/// Relative positional embedding: grouped Conv1d(H, H, K, padding K/2) → drop the extra last frame for
/// even K → GELU. The public checkpoints store the conv weight weight-normalised; it is folded into the
/// plain <c>conv.weight</c> at load (<see cref="Wav2Vec2Checkpoint"/>), so inference pays nothing for it.
/// </summary>
public sealed class Wav2Vec2PositionalConvEmbedding : nn.Module<Tensor, Tensor>
{
    private readonly Conv1d conv;
    private readonly bool dropLastFrame;

    public Wav2Vec2PositionalConvEmbedding(Wav2Vec2Config config, Device? device = null) : base(nameof(Wav2Vec2PositionalConvEmbedding))
    {
        int k = config.NumConvPosEmbeddings;
        conv = nn.Conv1d(config.HiddenSize, config.HiddenSize, k, padding: k / 2, groups: config.NumConvPosEmbeddingGroups, device: device);
        dropLastFrame = k % 2 == 0;
        RegisterComponents();
    }

    /// <summary>(B, T, H) → (B, T, H).</summary>
    public override Tensor forward(Tensor hidden)
    {
        using var scope = torch.NewDisposeScope();
        var x = conv.forward(hidden.transpose(1, 2));
        if (dropLastFrame) x = x[.., .., ..^1];
        return nn.functional.gelu(x).transpose(1, 2).MoveToOuterDisposeScope();
    }
}
