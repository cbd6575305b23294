using TorchSharp;
using TorchSharp.Modules;
using WavFusion.Core.Quantization;
using static TorchSharp.torch;

namespace WavFusion.Models.Layers;

/// <summary>
/// A layer whose weight matrix is held packed (<see cref="PackedMatrix"/>) rather than as a parameter: it has no
/// <c>weight</c> key in the state dict, so loaders hand the checkpoint's tensor (or ggml's stored blocks) to
/// <see cref="SetWeight"/> instead of copying it into a float32 parameter that would need the memory packing saves.
/// </summary>
public interface IPackedWeight
{
    /// <summary>(rows, columns) of the weight as the checkpoint stores it.</summary>
    long[] WeightShape { get; }
    WeightFormat Format { get; }
    bool HasWeight { get; }
    /// <summary>Takes ownership of <paramref name="weight"/> (same shape and format), disposing any weight it held.</summary>
    void SetWeight(PackedMatrix weight);
    /// <summary>Native bytes the packed weight holds.</summary>
    long WeightBytes { get; }
}

/// <summary>
/// A weight stored already reduced (a ggml file's quantised blocks or halves) that packs into a
/// <see cref="PackedMatrix"/> without first being widened to a float32 tensor.
/// </summary>
public interface IPackedSource
{
    /// <summary>(rows, columns), PyTorch order.</summary>
    long[] Shape { get; }
    PackedMatrix Pack(WeightFormat format, string what);
}

/// <summary><c>nn.Linear</c> with a packed weight: y = x·Wᵀ + b, float32 activations in and out (CPU only).</summary>
public sealed class PackedLinear : nn.Module<Tensor, Tensor>, IPackedWeight
{
    private readonly Parameter? bias;
    private PackedMatrix? _weight;

    public PackedLinear(string name, long inFeatures, long outFeatures, bool hasBias, WeightFormat format) : base(name)
    {
        if (format == WeightFormat.Fp32) throw new ArgumentException("fp32 layers are nn.Linear", nameof(format));
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Format = format;
        if (hasBias) bias = new Parameter(torch.zeros(outFeatures), requires_grad: false);
        RegisterComponents();
    }

    public long InFeatures { get; }
    public long OutFeatures { get; }
    public WeightFormat Format { get; }
    public long[] WeightShape => [OutFeatures, InFeatures];
    public bool HasWeight => _weight is not null;
    public long WeightBytes => _weight?.ByteCount ?? 0;
    public Tensor? Bias => bias;

    public PackedMatrix Weight => _weight ?? throw new InvalidOperationException($"{GetName()}: its {Format.Name()} weight was never loaded");

    public void SetWeight(PackedMatrix weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rows != OutFeatures || weight.Columns != InFeatures || weight.Format != Format)
            throw new ArgumentException($"{GetName()}: expects a {Format.Name()} [{OutFeatures}, {InFeatures}] weight, got {weight.Format.Name()} [{weight.Rows}, {weight.Columns}]");
        _weight?.Dispose();
        _weight = weight;
    }

    public override Tensor forward(Tensor input) => Weight.Linear(input, bias);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _weight?.Dispose();
            _weight = null;
        }
        base.Dispose(disposing);
    }
}

/// <summary>
/// A token embedding held packed: <see cref="forward"/> looks rows up (widened to float32) and <see cref="Project"/>
/// multiplies by the whole table, for models whose output projection is tied to their input embedding.
/// </summary>
public sealed class PackedEmbedding : nn.Module<Tensor, Tensor>, IPackedWeight
{
    private PackedMatrix? _weight;

    public PackedEmbedding(string name, long tokens, long dimensions, WeightFormat format) : base(name)
    {
        if (format == WeightFormat.Fp32) throw new ArgumentException("fp32 embeddings are nn.Embedding", nameof(format));
        Tokens = tokens;
        Dimensions = dimensions;
        Format = format;
        RegisterComponents();
    }

    public long Tokens { get; }
    public long Dimensions { get; }
    public WeightFormat Format { get; }
    public long[] WeightShape => [Tokens, Dimensions];
    public bool HasWeight => _weight is not null;
    public long WeightBytes => _weight?.ByteCount ?? 0;

    public PackedMatrix Weight => _weight ?? throw new InvalidOperationException($"{GetName()}: its {Format.Name()} weight was never loaded");

    public void SetWeight(PackedMatrix weight)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rows != Tokens || weight.Columns != Dimensions || weight.Format != Format)
            throw new ArgumentException($"{GetName()}: expects a {Format.Name()} [{Tokens}, {Dimensions}] weight, got {weight.Format.Name()} [{weight.Rows}, {weight.Columns}]");
        _weight?.Dispose();
        _weight = weight;
    }

    public override Tensor forward(Tensor input) => Weight.Gather(input);

    /// <summary>x·Eᵀ: scores of every token for activations (…, dimensions).</summary>
    public Tensor Project(Tensor x) => Weight.Linear(x, null);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _weight?.Dispose();
            _weight = null;
        }
        base.Dispose(disposing);
    }
}

/// <summary>Builds a layer's linear projection in the chosen weight format.</summary>
public static class PackedLayers
{
    /// <summary><c>nn.Linear</c> for fp32, <see cref="PackedLinear"/> otherwise (unregistered name: the caller's field name is the key).</summary>
    public static nn.Module<Tensor, Tensor> Linear(long inFeatures, long outFeatures, WeightFormat format, bool hasBias = true) =>
        format == WeightFormat.Fp32 ? nn.Linear(inFeatures, outFeatures, hasBias) : new PackedLinear("Linear", inFeatures, outFeatures, hasBias, format);

    /// <summary>Every packed layer under <paramref name="module"/> by its weight's state-dict key (<c>prefix.weight</c>).</summary>
    public static Dictionary<string, IPackedWeight> Find(nn.Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        var result = new Dictionary<string, IPackedWeight>(StringComparer.Ordinal);
        foreach (var (name, m) in module.named_modules())
            if (m is IPackedWeight p) result[name.Length == 0 ? "weight" : name + ".weight"] = p;
        return result;
    }
}
