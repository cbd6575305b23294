using TorchSharp;
using WavFusion.Core.Checkpoints;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Wav2Vec2;

/// <summary>How the positional conv weight is stored in a public checkpoint.</summary>
public enum WeightNormNames
{
    /// <summary><c>conv.weight_g</c> (1, 1, K) and <c>conv.weight_v</c> (H, H/groups, K): torch.nn.utils.weight_norm.</summary>
    Legacy,
    /// <summary><c>conv.parametrizations.weight.original0</c> (= g) and <c>original1</c> (= v): torch.nn.utils.parametrizations.weight_norm.</summary>
    Parametrizations,
}

/// <summary>
/// The one place where public wav2vec2 checkpoint keys and our module's keys differ:
/// <list type="bullet">
/// <item>Checkpoints saved from Wav2Vec2ForPreTraining / ForCTC prefix the model's keys with <c>wav2vec2.</c>;
/// the prefix is stripped. Their heads (<c>quantizer.*</c>, <c>project_hid.*</c>, <c>project_q.*</c>,
/// <c>lm_head.*</c>) and <c>masked_spec_embed</c> are training-only and listed in <see cref="KnownOptionalKeys"/>.</item>
/// <item>The positional conv is weight-normalised with dim=2 under either <see cref="WeightNormNames"/>; the
/// pair (g, v) becomes the module's plain <c>encoder.pos_conv_embed.conv.weight</c> =
/// g[0,0,k] · v[:,:,k] / ‖v[:,:,k]‖₂, computed once here. A checkpoint that already holds the plain weight loads as is.</item>
/// </list>
/// Every other key is identical.
/// </summary>
public static class Wav2Vec2Checkpoint
{
    public const string Prefix = "wav2vec2.";
    public const string PosConvWeight = "encoder.pos_conv_embed.conv.weight";

    private static readonly (string G, string V) LegacyPair = ("encoder.pos_conv_embed.conv.weight_g", "encoder.pos_conv_embed.conv.weight_v");
    private static readonly (string G, string V) ParametrizedPair =
        ("encoder.pos_conv_embed.conv.parametrizations.weight.original0", "encoder.pos_conv_embed.conv.parametrizations.weight.original1");

    private static (string G, string V) Pair(WeightNormNames names) => names == WeightNormNames.Legacy ? LegacyPair : ParametrizedPair;

    /// <summary>
    /// Rewrites a public checkpoint's tensors under our module's keys. The folded weight is a new tensor
    /// (created in the caller's dispose scope); every other value is the source tensor itself.
    /// </summary>
    public static Dictionary<string, Tensor> ToModuleKeys(IReadOnlyDictionary<string, Tensor> source, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(source);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (key, tensor) in source)
        {
            string mapped = key.StartsWith(Prefix, StringComparison.Ordinal) ? key[Prefix.Length..] : key;
            if (!result.TryAdd(mapped, tensor))
                throw new CheckpointException($"{sourceName}: key '{mapped}' occurs both with and without the '{Prefix}' prefix");
        }
        FoldWeightNorm(result, sourceName);
        return result;
    }

    private static void FoldWeightNorm(Dictionary<string, Tensor> dict, string sourceName)
    {
        var present = new[] { WeightNormNames.Legacy, WeightNormNames.Parametrizations }
            .Where(n => dict.ContainsKey(Pair(n).G) || dict.ContainsKey(Pair(n).V)).ToList();
        if (present.Count == 0) return;
        if (present.Count > 1)
            throw new CheckpointException($"{sourceName}: the positional conv weight is stored twice, as '{LegacyPair.G}'/'{LegacyPair.V}' and as '{ParametrizedPair.G}'/'{ParametrizedPair.V}'");
        var (gKey, vKey) = Pair(present[0]);
        if (!dict.TryGetValue(gKey, out var g)) throw new CheckpointException($"{sourceName}: '{vKey}' is present but its weight-norm magnitude '{gKey}' is missing");
        if (!dict.TryGetValue(vKey, out var v)) throw new CheckpointException($"{sourceName}: '{gKey}' is present but its weight-norm direction '{vKey}' is missing");
        if (dict.ContainsKey(PosConvWeight))
            throw new CheckpointException($"{sourceName}: both a plain '{PosConvWeight}' and its weight-norm pair '{gKey}'/'{vKey}' are present");
        if (v.dim() != 3 || g.dim() != 3 || g.shape[0] != 1 || g.shape[1] != 1 || g.shape[2] != v.shape[2])
            throw new CheckpointException($"{sourceName}: weight-norm pair '{gKey}' [{string.Join(", ", g.shape)}] / '{vKey}' [{string.Join(", ", v.shape)}] does not have the dim=2 layout g (1, 1, K), v (H, H/groups, K)");
        dict.Remove(gKey);
        dict.Remove(vKey);
        dict[PosConvWeight] = Fold(g, v);
    }

    /// <summary>torch._weight_norm(v, g, dim=2), in float32 at least so that half-precision checkpoints fold accurately.</summary>
    public static Tensor Fold(Tensor g, Tensor v)
    {
        ArgumentNullException.ThrowIfNull(g);
        ArgumentNullException.ThrowIfNull(v);
        var type = v.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        using var scope = torch.NewDisposeScope();
        var vf = v.to(type);
        var norm = vf.pow(Two).sum([0, 1], keepdim: true).sqrt();
        return (g.to(type) * vf / norm).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The public checkpoint's key/shape layout for a module layout (e.g. our <c>state_dict()</c>): the plain
    /// positional conv weight (H, H/groups, K) becomes its weight-norm pair, and <paramref name="prefix"/> is prepended.
    /// </summary>
    public static IReadOnlyList<(string Key, long[] Shape)> PublicLayout(IEnumerable<(string Key, long[] Shape)> moduleLayout,
        WeightNormNames names = WeightNormNames.Legacy, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(moduleLayout);
        var (gKey, vKey) = Pair(names);
        var result = new List<(string, long[])>();
        foreach (var (key, shape) in moduleLayout)
        {
            if (key == PosConvWeight)
            {
                result.Add((prefix + gKey, [1, 1, shape[2]]));
                result.Add((prefix + vKey, shape));
            }
            else
                result.Add((prefix + key, shape));
        }
        return result;
    }
}
