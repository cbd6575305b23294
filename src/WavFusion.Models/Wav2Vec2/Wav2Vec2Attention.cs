using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Wav2Vec2;

/// <summary>
/// Multi-head self-attention with separate q/k/v/out projections (all with bias), as the HF checkpoints
/// store them. Runs on <c>scaled_dot_product_attention</c>, whose built-in scale 1/√head_dim is the one
/// wav2vec2 uses; padding is a boolean key mask (True = attend), so masked and unmasked calls both stay
/// on the fused kernel.
/// </summary>
public sealed class Wav2Vec2Attention : nn.Module<Tensor, Tensor?, Tensor>
{
    public readonly Linear k_proj;
    public readonly Linear v_proj;
    public readonly Linear q_proj;
    public readonly Linear out_proj;
    private readonly double dropoutProbability;

    public int NumHeads { get; }
    public int HeadDim { get; }
    public int EmbedDim { get; }

    /// <summary>How the projections run on the CPU (<see cref="FrameLinear"/>).</summary>
    public FrameLinearPath FrameLinearPath { get; }

    public Wav2Vec2Attention(Wav2Vec2Config config, Device? device = null, FrameLinearPath frameLinear = FrameLinearPath.Auto)
        : base(nameof(Wav2Vec2Attention))
    {
        FrameLinearPath = frameLinear;
        EmbedDim = config.HiddenSize;
        NumHeads = config.NumAttentionHeads;
        HeadDim = EmbedDim / NumHeads;
        dropoutProbability = config.AttentionDropout;
        k_proj = nn.Linear(EmbedDim, EmbedDim, device: device);
        v_proj = nn.Linear(EmbedDim, EmbedDim, device: device);
        q_proj = nn.Linear(EmbedDim, EmbedDim, device: device);
        out_proj = nn.Linear(EmbedDim, EmbedDim, device: device);
        RegisterComponents();
    }

    /// <summary>(B, T, H) → (B, T, H). <paramref name="keyMask"/>: (B, T), True (or non-zero) = valid key; null = attend everywhere.</summary>
    public override Tensor forward(Tensor hidden, Tensor? keyMask)
    {
        using var scope = torch.NewDisposeScope();
        long batch = hidden.shape[0], time = hidden.shape[1];
        var q = SplitHeads(FrameLinear.Apply(q_proj, hidden, FrameLinearPath), batch, time);
        var k = SplitHeads(FrameLinear.Apply(k_proj, hidden, FrameLinearPath), batch, time);
        var v = SplitHeads(FrameLinear.Apply(v_proj, hidden, FrameLinearPath), batch, time);
        Tensor? mask = null;
        if (keyMask is not null)
        {
            if (keyMask.dim() != 2 || keyMask.shape[0] != batch || keyMask.shape[1] != time)
                throw new ArgumentException($"key mask has shape [{string.Join(", ", keyMask.shape)}], expected [{batch}, {time}]", nameof(keyMask));
            mask = (keyMask.dtype == ScalarType.Bool ? keyMask : keyMask.ne(Zero)).view(batch, 1, 1, time);
        }
        var attended = nn.functional.scaled_dot_product_attention(q, k, v, mask, training ? dropoutProbability : 0.0);
        var merged = attended.transpose(1, 2).reshape(batch, time, EmbedDim);
        return FrameLinear.Apply(out_proj, merged, FrameLinearPath).MoveToOuterDisposeScope();
    }

    private Tensor SplitHeads(Tensor x, long batch, long time) => x.view(batch, time, NumHeads, HeadDim).transpose(1, 2);
}
