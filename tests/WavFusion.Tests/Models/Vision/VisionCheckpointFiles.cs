using System.Text.Json;
using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.Vision;
using static TorchSharp.torch;

namespace WavFusion.Tests.Vision;

/// <summary>Randomised EfficientNet-B0 weights and safetensors files under torchvision or timm names.</summary>
internal static class VisionCheckpointFiles
{
    /// <summary>
    /// Fresh BatchNorm layers have weight 1, bias 0, mean 0, var 1: randomising them (variance kept
    /// positive) lets a test notice a norm that is skipped, swapped or run on batch statistics.
    /// </summary>
    public static EfficientNetB0 RandomModel(int numClasses, ulong seed)
    {
        var model = new EfficientNetB0(numClasses);
        using var gen = new Generator(seed);
        using var noGrad = torch.no_grad();
        foreach (var (name, t) in model.state_dict())
        {
            if (!t.is_floating_point()) continue;
            using var r = t.dim() switch
            {
                // He-scaled weights keep activations near unit scale through 50 conv + BatchNorm layers.
                > 1 => torch.randn(t.shape, generator: gen) * Math.Sqrt((t.dim() == 4 ? 2.0 : 1.0) * t.shape[0] / t.numel()),
                _ when name.EndsWith("running_var", StringComparison.Ordinal) => torch.rand(t.shape, generator: gen) + 0.5,
                _ => torch.randn(t.shape, generator: gen) * 0.1 + (IsNormWeight(name) ? 1.0 : 0.0),
            };
            t.copy_(r);
        }
        model.eval();
        return model;
    }

    /// <summary>Same shape and bitwise-equal values (TorchSharp's <c>equal</c> is element-wise).</summary>
    public static bool Identical(Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape)) return false;
        using var same = a.eq(b);
        using var all = same.all();
        return all.item<bool>();
    }

    private static bool IsNormWeight(string key) =>
        key.EndsWith(".1.weight", StringComparison.Ordinal) && !key.StartsWith("classifier.", StringComparison.Ordinal);

    /// <summary>The model's state dict under timm names (every key must have one).</summary>
    public static Dictionary<string, Tensor> TimmStateDict(EfficientNetB0 model) =>
        model.state_dict().ToDictionary(
            kv => EfficientNetKeyMap.TorchvisionToTimm(kv.Key) ?? throw new InvalidOperationException($"no timm name for {kv.Key}"),
            kv => kv.Value, StringComparer.Ordinal);

    /// <summary>The model's state dict under its own names, without the BatchNorm counters (as in the published file).</summary>
    public static Dictionary<string, Tensor> TorchvisionStateDict(EfficientNetB0 model) =>
        model.state_dict().Where(kv => !kv.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

    public static void WriteConfig(string folder, string source, int numClasses)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["model_type"] = "efficientnet_b0", ["source"] = source, ["num_classes"] = numClasses, ["image_size"] = 64,
        }));
    }

    public static void WriteSafeTensors(string path, IReadOnlyDictionary<string, Tensor> tensors) => SafeTensorsWriter.Write(path, tensors);
}
