using TorchSharp;
using TorchSharp.Modules;
using WavFusion.Core.Quantization;
using WavFusion.Models.Layers;
using static TorchSharp.torch;

namespace WavFusion.Models.Whisper;

/// <summary>
/// Multi-head attention with Whisper's projections (the key projection has no bias). Heads are
/// split as (batch, heads, time, head_dim) so that cached keys and values can be attended directly. The projections
/// are <c>nn.Linear</c> or, with packed weights, <see cref="PackedLinear"/>.
/// </summary>
public sealed class WhisperAttention : nn.Module
{
    private readonly nn.Module<Tensor, Tensor> q_proj;
    private readonly nn.Module<Tensor, Tensor> k_proj;
    private readonly nn.Module<Tensor, Tensor> v_proj;
    private readonly nn.Module<Tensor, Tensor> out_proj;
    private readonly long _heads;
    // Packed weights fuse after loading: one (3·D, D) matrix whose row slices the q/k/v projections then hold.
    private PackedMatrix? _qkvPacked;
    // When fused: one (3·D, D) weight and (3·D) bias whose row blocks are the q/k/v projections' own
    // parameters (views), so loading into those keys fills it; _fusedParameters tells whether it still is.
    private Tensor? _qkvWeight;
    private Tensor? _qkvBias;
    private Parameter?[] _fusedParameters = [];

    public WhisperAttention(string name, long dModel, long heads, WeightFormat weights = WeightFormat.Fp32) : base(name)
    {
        _heads = heads;
        Weights = weights;
        q_proj = PackedLayers.Linear(dModel, dModel, weights);
        k_proj = PackedLayers.Linear(dModel, dModel, weights, hasBias: false);
        v_proj = PackedLayers.Linear(dModel, dModel, weights);
        out_proj = PackedLayers.Linear(dModel, dModel, weights);
        RegisterComponents();
    }

    /// <summary>How the projections hold their weights.</summary>
    public WeightFormat Weights { get; }

    /// <summary>Queries of <paramref name="x"/> (B, T, D) as (B, H, T, D/H).</summary>
    public Tensor Query(Tensor x) => SplitHeads(q_proj.forward(x));

    /// <summary>Keys and values of <paramref name="x"/> (B, T, D), each (B, H, T, D/H).</summary>
    public (Tensor Key, Tensor Value) KeyValue(Tensor x) => (SplitHeads(k_proj.forward(x)), SplitHeads(v_proj.forward(x)));

    /// <summary>
    /// Queries, keys and values of <paramref name="x"/> (B, T, D), each (B, H, T, D/H): one matrix product
    /// when <see cref="FuseQueryKeyValue"/> was called, which a one-token decoding step benefits from.
    /// </summary>
    public (Tensor Query, Tensor Key, Tensor Value) QueryKeyValue(Tensor x)
    {
        if (_qkvPacked is null && !IsFused)
        {
            var (k, v) = KeyValue(x);
            return (Query(x), k, v);
        }
        var qkv = _qkvPacked is null ? nn.functional.linear(x, _qkvWeight!, _qkvBias) : _qkvPacked.Linear(x, _qkvBias);
        var heads = qkv.view(x.shape[0], x.shape[1], 3, _heads, -1).permute(2, 0, 3, 1, 4);
        return (heads[0], heads[1], heads[2]);
    }

    /// <summary>
    /// Stores the q/k/v weights as row blocks of one (3·D, D) matrix, laid out input-major when
    /// <paramref name="inputMajor"/> (see <see cref="WhisperDecoder"/>), with the key's missing bias as
    /// zeros. The projections keep their keys and shapes; their parameters become views of the fused ones.
    /// </summary>
    public void FuseQueryKeyValue(bool inputMajor)
    {
        if (Weights != WeightFormat.Fp32) throw new InvalidOperationException("packed projections fuse with FusePackedQueryKeyValue once their weights are loaded");
        using var _ = torch.no_grad();
        var q_proj = (Linear)this.q_proj;
        var k_proj = (Linear)this.k_proj;
        var v_proj = (Linear)this.v_proj;
        var q = q_proj.weight!;
        long d = q.shape[0], inFeatures = q.shape[1];
        // Assigning a projection's parameter disposes the one it replaces.
        bool grad = q.requires_grad;
        var weight = inputMajor
            ? torch.empty([inFeatures, 3 * d], q.dtype, q.device).t()
            : torch.empty([3 * d, inFeatures], q.dtype, q.device);
        var bias = torch.zeros(3 * d, q.dtype, q.device);
        weight.narrow(0, 0, d).copy_(q);
        weight.narrow(0, d, d).copy_(k_proj.weight!);
        weight.narrow(0, 2 * d, d).copy_(v_proj.weight!);
        bias.narrow(0, 0, d).copy_(q_proj.bias!);
        bias.narrow(0, 2 * d, d).copy_(v_proj.bias!);
        q_proj.weight = new Parameter(weight.narrow(0, 0, d), grad);
        k_proj.weight = new Parameter(weight.narrow(0, d, d), grad);
        v_proj.weight = new Parameter(weight.narrow(0, 2 * d, d), grad);
        q_proj.bias = new Parameter(bias.narrow(0, 0, d), grad);
        v_proj.bias = new Parameter(bias.narrow(0, 2 * d, d), grad);
        _qkvWeight?.Dispose();
        _qkvBias?.Dispose();
        _qkvWeight = weight.DetachFromDisposeScope();
        _qkvBias = bias.DetachFromDisposeScope();
        _fusedParameters = [q_proj.weight, k_proj.weight, v_proj.weight, q_proj.bias, v_proj.bias];
    }

    /// <summary>
    /// Packed counterpart of <see cref="FuseQueryKeyValue"/>, called once the weights are loaded: the q/k/v weights
    /// become row slices of one packed (3·D, D) matrix (no extra memory), multiplied in one pass.
    /// </summary>
    public void FusePackedQueryKeyValue()
    {
        if (Weights == WeightFormat.Fp32) throw new InvalidOperationException("fp32 projections fuse with FuseQueryKeyValue");
        var q = (PackedLinear)q_proj;
        var k = (PackedLinear)k_proj;
        var v = (PackedLinear)v_proj;
        long d = q.OutFeatures;
        var fused = PackedMatrix.Concat([q.Weight, k.Weight, v.Weight]);
        Tensor bias;
        using (torch.no_grad())
        {
            bias = torch.zeros(3 * d);
            bias.narrow(0, 0, d).copy_(q.Bias!);
            bias.narrow(0, 2 * d, d).copy_(v.Bias!);
        }
        q.SetWeight(fused.Slice(0, (int)d));
        k.SetWeight(fused.Slice((int)d, (int)d));
        v.SetWeight(fused.Slice(2 * (int)d, (int)d));
        _qkvPacked?.Dispose();
        _qkvBias?.Dispose();
        _qkvPacked = fused;
        _qkvBias = bias.DetachFromDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _qkvWeight?.Dispose();
            _qkvBias?.Dispose();
            base.Dispose(disposing);
            // The projections' slices read the fused matrix: it goes after them.
            _qkvPacked?.Dispose();
            _qkvPacked = null;
            return;
        }
        base.Dispose(disposing);
    }

    // Moving or converting the module gives the projections new parameters; fusing again keeps them one matrix.
    protected override nn.Module _to(Device device, ScalarType dtype, bool non_blocking) => FuseAgain(base._to(device, dtype, non_blocking));
    protected override nn.Module _to(DeviceType deviceType, int deviceIndex, bool non_blocking) => FuseAgain(base._to(deviceType, deviceIndex, non_blocking));
    protected override nn.Module _to(ScalarType dtype, bool non_blocking) => FuseAgain(base._to(dtype, non_blocking));

    private nn.Module FuseAgain(nn.Module moved)
    {
        if (_qkvWeight is not null && Weights == WeightFormat.Fp32 && !IsFused) FuseQueryKeyValue(_qkvWeight.stride(0) == 1);
        return moved;
    }

    /// <summary>Whether the fused matrix still backs the projections (moving the module replaces their parameters).</summary>
    public bool IsFused => _qkvPacked is not null || (_fusedParameters.Length == 5
        && q_proj is Linear q && k_proj is Linear k && v_proj is Linear v
        && ReferenceEquals(_fusedParameters[0], q.weight) && ReferenceEquals(_fusedParameters[1], k.weight)
        && ReferenceEquals(_fusedParameters[2], v.weight) && ReferenceEquals(_fusedParameters[3], q.bias)
        && ReferenceEquals(_fusedParameters[4], v.bias));

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

    /// <summary>Attention output (B, T, D) of queries (B, H, T, D/H) over keys and values held as f16 (one audio's, see <see cref="HalfKeyValues"/>).</summary>
    public Tensor Attend(Tensor query, HalfKeyValues keyValues)
    {
        ArgumentNullException.ThrowIfNull(keyValues);
        using var scope = torch.NewDisposeScope();
        var context = keyValues.Attend(query);
        return out_proj.forward(context.transpose(1, 2).flatten(2)).MoveToOuterDisposeScope();
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
