using System.Text.Json;
using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.Text;
using static TorchSharp.torch;

namespace WavFusion.Tests.Text;

/// <summary>Builds small Hugging Face style text-model folders (config.json + model.safetensors) for tests.</summary>
internal static class TextCheckpointFiles
{
    public static RobertaConfig SmallRoberta(int layers = 2) => new()
    {
        VocabSize = 50, HiddenSize = 16, NumHiddenLayers = layers, NumAttentionHeads = 2, IntermediateSize = 24,
        MaxPositionEmbeddings = 20, HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0,
    };

    public static BertConfig SmallBert(int layers = 2) => new()
    {
        VocabSize = 40, HiddenSize = 12, NumHiddenLayers = layers, NumAttentionHeads = 3, IntermediateSize = 20,
        MaxPositionEmbeddings = 16, HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0,
    };

    /// <summary>
    /// Fresh weights initialise LayerNorm to (1, 0) and the padding rows to zero; randomising everything
    /// lets a test notice a norm or embedding that is skipped or swapped.
    /// </summary>
    public static void Randomise(nn.Module model, ulong seed)
    {
        using var gen = new Generator(seed);
        using var _ = torch.no_grad();
        foreach (var (_, p) in model.named_parameters())
        {
            using var r = torch.randn(p.shape, generator: gen) * 0.5;
            p.copy_(r);
        }
    }

    /// <summary>Writes config.json (snake_case keys) and model.safetensors with every key under <paramref name="prefix"/>.</summary>
    public static void Write(string folder, TextEncoderConfig config, IReadOnlyDictionary<string, Tensor> stateDict, string prefix,
        IReadOnlyDictionary<string, Tensor>? extra = null)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(config, config.GetType()));
        var tensors = stateDict.ToDictionary(kv => prefix + kv.Key, kv => kv.Value, StringComparer.Ordinal);
        foreach (var (k, v) in extra ?? new Dictionary<string, Tensor>()) tensors[k] = v;
        WriteSafeTensors(Path.Combine(folder, "model.safetensors"), tensors);
    }

    public static void WriteSafeTensors(string path, IReadOnlyDictionary<string, Tensor> tensors) => SafeTensorsWriter.Write(path, tensors);
}
