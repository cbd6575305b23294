using System.Text.Json;
using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.Text;
using WavFusion.Models.Vision;
using WavFusion.Tests.Text;
using WavFusion.Tests.Vision;

namespace WavFusion.Tests.Features;

/// <summary>Small seeded RoBERTa, BERT and scaled EfficientNet folders in the published layouts, written by tests.</summary>
internal static class TinyEncoderFolders
{
    public const int RobertaHidden = 16;

    /// <summary>4 × make_divisible(320 × 0.25): the pooled width of the width-0.25 net.</summary>
    public const int VisualDim = 320;

    public const int ImageSize = 32;

    /// <summary>
    /// Byte-level vocabulary: the specials, ASCII letters and punctuation as their own byte symbols, "Ġ" (the
    /// byte-level space) and two merges, so every SynthEmo sentence tokenises without unknowns.
    /// </summary>
    public static string Roberta(string folder, ulong seed = 5)
    {
        Directory.CreateDirectory(folder);
        var symbols = new List<string> { "<s>", "<pad>", "</s>", "<unk>", "<mask>", "Ġ" };
        symbols.AddRange(Enumerable.Range('a', 26).Select(c => ((char)c).ToString()));
        symbols.AddRange(Enumerable.Range('A', 26).Select(c => ((char)c).ToString()));
        symbols.AddRange([".", ",", "'", "!", "?", "-", "he", "Ġt"]);
        var vocab = symbols.Select((s, i) => (s, i)).ToDictionary(p => p.s, p => p.i, StringComparer.Ordinal);
        File.WriteAllText(Path.Combine(folder, "vocab.json"), JsonSerializer.Serialize(vocab));
        File.WriteAllLines(Path.Combine(folder, "merges.txt"), ["#version: 0.2", "h e", "Ġ t"]);

        var config = new RobertaConfig
        {
            VocabSize = 80, HiddenSize = RobertaHidden, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 24,
            MaxPositionEmbeddings = 66, HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0,
        };
        using var model = new RobertaModel(config);
        TextCheckpointFiles.Randomise(model, seed);
        TextCheckpointFiles.Write(folder, config, model.state_dict(), RobertaModel.CheckpointPrefix);
        AddModelType(folder, "roberta");
        return folder;
    }

    public static string Bert(string folder, ulong seed = 6)
    {
        Directory.CreateDirectory(folder);
        string[] vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s", "a", "b"];
        File.WriteAllLines(Path.Combine(folder, "vocab.txt"), vocab);
        var config = TextCheckpointFiles.SmallBert();
        using var model = new BertModel(config);
        TextCheckpointFiles.Randomise(model, seed);
        TextCheckpointFiles.Write(folder, config, model.state_dict(), BertModel.CheckpointPrefix);
        AddModelType(folder, "bert");
        return folder;
    }

    /// <summary>Hugging Face's config.json names the architecture; LoadText dispatches on it.</summary>
    private static void AddModelType(string folder, string modelType)
    {
        string path = Path.Combine(folder, "config.json");
        var json = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(path))!
            .ToDictionary(kv => kv.Key, kv => (object)kv.Value, StringComparer.Ordinal);
        json["model_type"] = modelType;
        File.WriteAllText(path, JsonSerializer.Serialize(json));
    }

    /// <summary>The demo's frozen image encoder shape: EfficientNet-B0 at width 0.25, depth 0.34, torchvision keys.</summary>
    public static string EfficientNet(string folder, ulong seed = 7)
    {
        Directory.CreateDirectory(folder);
        torch.manual_seed((long)seed);
        using var model = new EfficientNetB0(10, widthMult: 0.25, depthMult: 0.34);
        SafeTensorsWriter.Write(Path.Combine(folder, "model.safetensors"), VisionCheckpointFiles.TorchvisionStateDict(model));
        File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["model_type"] = "efficientnet_b0", ["source"] = "torchvision", ["width_mult"] = 0.25, ["depth_mult"] = 0.34, ["image_size"] = ImageSize,
        }));
        return folder;
    }
}
