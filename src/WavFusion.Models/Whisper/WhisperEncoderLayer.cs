using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Whisper;

/// <summary>Pre-norm encoder block: x + SelfAttn(LN(x)), then x + FFN(LN(x)) with exact GELU.</summary>
public sealed class WhisperEncoderLayer : nn.Module<Tensor, Tensor>
{
    private readonly WhisperAttention self_attn;
    private readonly LayerNorm self_attn_layer_norm;
    private readonly Linear fc1;
    private readonly Linear fc2;
    private readonly LayerNorm final_layer_norm;

    public WhisperEncoderLayer(string name, long dModel, long heads, long ffnDim) : base(name)
    {
        self_attn = new WhisperAttention(nameof(self_attn), dModel, heads);
        self_attn_layer_norm = nn.LayerNorm(dModel);
        fc1 = nn.Linear(dModel, ffnDim);
        fc2 = nn.Linear(ffnDim, dModel);
        final_layer_norm = nn.LayerNorm(dModel);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var h = x.add(self_attn.SelfAttention(self_attn_layer_norm.forward(x)), One);
        var ffn = fc2.forward(nn.functional.gelu(fc1.forward(final_layer_norm.forward(h))));
        return h.add_(ffn, One).MoveToOuterDisposeScope();
    }
}
