using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace WavFusion.Speech.Whisper;

/// <summary>
/// Multi-head attention with Whisper's projections (the key projection has no bias). Heads are
/// split as (batch, heads, time, head_dim) so that cached keys and values can be attended directly.
/// </summary>
public sealed class WhisperAttention : nn.Module
{
    private readonly Linear q_proj;
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear out_proj;
    private readonly long _heads;

    public WhisperAttention(string name, long dModel, long heads) : base(name)
    {
        _heads = heads;
        q_proj = nn.Linear(dModel, dModel);
        k_proj = nn.Linear(dModel, dModel, hasBias: false);
        v_proj = nn.Linear(dModel, dModel);
        out_proj = nn.Linear(dModel, dModel);
        RegisterComponents();
    }

    /// <summary>Queries of <paramref name="x"/> (B, T, D) as (B, H, T, D/H).</summary>
    public Tensor Query(Tensor x) => SplitHeads(q_proj.forward(x));

    /// <summary>Keys and values of <paramref name="x"/> (B, T, D), each (B, H, T, D/H).</summary>
    public (Tensor Key, Tensor Value) KeyValue(Tensor x) => (SplitHeads(k_proj.forward(x)), SplitHeads(v_proj.forward(x)));

    /// <summary>
    /// Attention output (B, T, D). <paramref name="mask"/> is boolean, true where a query may attend;
    /// <paramref name="causal"/> applies a top-left causal mask (queries and keys start together).
    /// </summary>
    public Tensor Attend(Tensor query, Tensor key, Tensor value, Tensor? mask = null, bool causal = false)
    {
        using var scope = torch.NewDisposeScope();
        var context = nn.functional.scaled_dot_product_attention(query, key, value, mask, is_casual: causal);
        var merged = context.transpose(1, 2).flatten(2);
        return out_proj.forward(merged).MoveToOuterDisposeScope();
    }

    /// <summary>Unmasked self-attention over <paramref name="x"/> (B, T, D), as in the encoder.</summary>
    public Tensor SelfAttention(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        var (k, v) = KeyValue(x);
        return Attend(Query(x), k, v).MoveToOuterDisposeScope();
    }

    private Tensor SplitHeads(Tensor x) => x.view(x.shape[0], x.shape[1], _heads, -1).transpose(1, 2);
}
