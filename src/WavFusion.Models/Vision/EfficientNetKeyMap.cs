using System.Globalization;
using System.Text.RegularExpressions;
using WavFusion.Core.Checkpoints;

namespace WavFusion.Models.Vision;

/// <summary>
/// The one table between timm's and torchvision's EfficientNet-B0 module names. Parameter and buffer
/// suffixes (weight, bias, running_mean, running_var, num_batches_tracked) are the same in both; timm's
/// stage S is torchvision's <c>features.{S+1}</c>, and a block's inner names depend on whether the stage
/// expands (timm InvertedResidual) or not (timm DepthwiseSeparable).
/// </summary>
public static partial class EfficientNetKeyMap
{
    private static readonly (string Timm, string Torchvision)[] Outer =
    [
        ("conv_stem", "features.0.0"),
        ("bn1", "features.0.1"),
        ("conv_head", "features.8.0"),
        ("bn2", "features.8.1"),
        ("classifier", "classifier.1"),
    ];

    private static readonly (string Timm, string Torchvision)[] DepthwiseSeparable =
    [
        ("conv_dw", "0.0"),
        ("bn1", "0.1"),
        ("se.conv_reduce", "1.fc1"),
        ("se.conv_expand", "1.fc2"),
        ("conv_pw", "2.0"),
        ("bn2", "2.1"),
    ];

    private static readonly (string Timm, string Torchvision)[] InvertedResidual =
    [
        ("conv_pw", "0.0"),
        ("bn1", "0.1"),
        ("conv_dw", "1.0"),
        ("bn2", "1.1"),
        ("se.conv_reduce", "2.fc1"),
        ("se.conv_expand", "2.fc2"),
        ("conv_pwl", "3.0"),
        ("bn3", "3.1"),
    ];

    [GeneratedRegex(@"^blocks\.(\d+)\.(\d+)\.(.+)$")]
    private static partial Regex TimmBlock();

    [GeneratedRegex(@"^features\.(\d+)\.(\d+)\.block\.(.+)$")]
    private static partial Regex TorchvisionBlock();

    /// <summary>The torchvision key for a timm key, or null when the key is not part of timm's B0.</summary>
    public static string? TimmToTorchvision(string timmKey)
    {
        var (module, suffix) = Split(timmKey);
        if (module is null) return null;
        if (Lookup(Outer, module, fromTimm: true) is { } outer) return $"{outer}.{suffix}";
        var m = TimmBlock().Match(module);
        if (!m.Success || !TryIndex(m.Groups[1].Value, out int stage) || stage >= EfficientNetStage.B0.Count) return null;
        string? inner = Lookup(BlockTable(stage), m.Groups[3].Value, fromTimm: true);
        return inner is null ? null : $"features.{stage + 1}.{m.Groups[2].Value}.block.{inner}.{suffix}";
    }

    /// <summary>The timm key for one of our (torchvision) keys, or null when it has none.</summary>
    public static string? TorchvisionToTimm(string key)
    {
        var (module, suffix) = Split(key);
        if (module is null) return null;
        if (Lookup(Outer, module, fromTimm: false) is { } outer) return $"{outer}.{suffix}";
        var m = TorchvisionBlock().Match(module);
        if (!m.Success || !TryIndex(m.Groups[1].Value, out int feature) || feature == 0) return null;
        int stage = feature - 1;
        if (stage >= EfficientNetStage.B0.Count) return null;
        string? inner = Lookup(BlockTable(stage), m.Groups[3].Value, fromTimm: false);
        return inner is null ? null : $"blocks.{stage}.{m.Groups[2].Value}.{inner}.{suffix}";
    }

    /// <summary>
    /// Which naming <paramref name="keys"/> use. A checkpoint in neither (or a mix of both) fails, naming
    /// the keys that fit neither.
    /// </summary>
    public static EfficientNetKeyNaming Detect(IEnumerable<string> keys, string sourceName)
    {
        var list = keys.ToList();
        bool torchvision = list.Any(k => k.StartsWith("features.", StringComparison.Ordinal));
        bool timm = list.Any(k => k.StartsWith("blocks.", StringComparison.Ordinal) || k.StartsWith("conv_stem.", StringComparison.Ordinal));
        if (torchvision && !timm) return EfficientNetKeyNaming.Torchvision;
        if (timm && !torchvision) return EfficientNetKeyNaming.Timm;
        // Mixed: the timm-named keys are the odd ones out; neither: every key that maps in no direction.
        var foreign = list.Where(k => torchvision
                              ? TimmToTorchvision(k) is not null
                              : !KnownOptionalKeys.IsIgnorable(k) && TimmToTorchvision(k) is null && TorchvisionToTimm(k) is null)
                          .Order(StringComparer.Ordinal).ToList();
        string why = torchvision ? "mixes torchvision (features.*) and timm (blocks.*, conv_stem) names" : "uses neither torchvision (features.*) nor timm (conv_stem, blocks.*) names";
        throw new CheckpointException($"{sourceName}: not an EfficientNet-B0 checkpoint: it {why}; unexpected keys: {string.Join(", ", foreign.Count > 0 ? foreign : list)}");
    }

    /// <summary>
    /// Renames a timm state dict to ours. Keys outside timm's B0 fail together, named; the tensors are not copied.
    /// </summary>
    public static Dictionary<string, TorchSharp.torch.Tensor> FromTimm(IReadOnlyDictionary<string, TorchSharp.torch.Tensor> timm, string sourceName)
    {
        var result = new Dictionary<string, TorchSharp.torch.Tensor>(StringComparer.Ordinal);
        var unexpected = new List<string>();
        foreach (var (key, tensor) in timm)
        {
            if (TimmToTorchvision(key) is { } ours) result[ours] = tensor;
            else if (!KnownOptionalKeys.IsIgnorable(key)) unexpected.Add(key);
        }
        if (unexpected.Count > 0)
            throw new CheckpointException($"{sourceName}: timm-named checkpoint has keys outside EfficientNet-B0: unexpected keys: {string.Join(", ", unexpected.Order(StringComparer.Ordinal))}");
        return result;
    }

    private static (string Timm, string Torchvision)[] BlockTable(int stage) =>
        EfficientNetStage.B0[stage].ExpandRatio == 1 ? DepthwiseSeparable : InvertedResidual;

    private static bool TryIndex(string text, out int index) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out index);

    private static string? Lookup((string Timm, string Torchvision)[] table, string name, bool fromTimm)
    {
        foreach (var (timm, torchvision) in table)
            if ((fromTimm ? timm : torchvision) == name) return fromTimm ? torchvision : timm;
        return null;
    }

    private static (string? Module, string Suffix) Split(string key)
    {
        int dot = key.LastIndexOf('.');
        return dot <= 0 ? (null, key) : (key[..dot], key[(dot + 1)..]);
    }
}
