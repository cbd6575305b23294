using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.Text;
using static TorchSharp.torch;

namespace WavFusion.Training.Recipes;

/// <summary>
/// The frozen auxiliary encoders of the bundled demo model. No pretrained RoBERTa or EfficientNet can be
/// shipped in a 20 MB demo, so the demo uses small encoders of the same architectures, randomly initialised
/// from a seed and frozen, written as ordinary Hugging Face style folders (config.json, model.safetensors,
/// tokenizer files) that the feature loaders read exactly like downloaded ones. A frozen random encoder keeps
/// token and image identity, which is all the trained branches need on SynthEmo; users who have the real
/// encoders point the experiment config at them instead.
/// </summary>
public static class DemoEncoders
{
    /// <summary>The demo text encoder's shape: a two-layer, 128-wide RoBERTa.</summary>
    public sealed record TextEncoderShape
    {
        public int HiddenSize { get; init; } = 128;
        public int Layers { get; init; } = 2;
        public int Heads { get; init; } = 4;
        public int IntermediateSize { get; init; } = 256;
        public int MaxTokens { get; init; } = 128;
        public int MaxMerges { get; init; } = 1500;
    }

    /// <summary>
    /// Learns a byte-level BPE vocabulary on <paramref name="corpus"/> and writes a randomly initialised RoBERTa
    /// (Hugging Face's initialisation: N(0, 0.02) weights and embeddings, zero biases, unit LayerNorm gains)
    /// with config.json, vocab.json and merges.txt into <paramref name="folder"/>.
    /// </summary>
    public static void WriteTextEncoder(string folder, IEnumerable<string> corpus, int seed, TextEncoderShape? shape = null)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        shape ??= new TextEncoderShape();
        var texts = corpus.ToList();
        if (texts.Count == 0) throw new ArgumentException("the tokenizer corpus is empty", nameof(corpus));
        var bpe = ByteLevelBpeTrainer.Train(texts, shape.MaxMerges);
        Directory.CreateDirectory(folder);
        bpe.Save(folder);

        // RoBERTa numbers positions from pad_token_id + 1, so it needs two more position rows than tokens.
        var config = new JsonObject
        {
            ["model_type"] = "roberta",
            ["architectures"] = new JsonArray("RobertaModel"),
            ["vocab_size"] = bpe.Size,
            ["hidden_size"] = shape.HiddenSize,
            ["num_hidden_layers"] = shape.Layers,
            ["num_attention_heads"] = shape.Heads,
            ["intermediate_size"] = shape.IntermediateSize,
            ["hidden_act"] = "gelu",
            ["max_position_embeddings"] = shape.MaxTokens + 2,
            ["type_vocab_size"] = 1,
            ["pad_token_id"] = bpe.Vocab["<pad>"],
            ["bos_token_id"] = bpe.Vocab["<s>"],
            ["eos_token_id"] = bpe.Vocab["</s>"],
            ["layer_norm_eps"] = 1e-5,
            ["initializer_range"] = 0.02,
            ["hidden_dropout_prob"] = 0.0,
            ["attention_probs_dropout_prob"] = 0.0,
            ["wavfusion_note"] = $"Random-init frozen demo encoder (seed {seed}); not a pretrained RoBERTa.",
        };
        string configPath = Path.Combine(folder, "config.json");
        File.WriteAllText(configPath, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");

        torch.manual_seed(seed);
        using var model = new RobertaModel(RobertaConfig.Load(configPath));
        using (torch.no_grad())
        {
            foreach (var (name, p) in model.named_parameters())
            {
                if (name.EndsWith("LayerNorm.weight", StringComparison.Ordinal)) p.fill_(1);
                else if (name.EndsWith(".bias", StringComparison.Ordinal)) p.zero_();
                else p.normal_(0, 0.02);
            }
            // Hugging Face zeroes the padding rows of the embedding tables.
            model.embeddings.word_embeddings.weight![bpe.Vocab["<pad>"]].zero_();
            model.embeddings.position_embeddings.weight![bpe.Vocab["<pad>"]].zero_();
        }
        var weights = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        SafeTensorsWriter.Write(Path.Combine(folder, "model.safetensors"), weights,
            new Dictionary<string, string> { ["format"] = "pt", ["wavfusion"] = "random-init demo text encoder" });
    }
}
