using System.Text.Json;
using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.Text;
using WavFusion.Models.Vision;
using static TorchSharp.torch;

namespace WavFusion.Inference.Encoders;

/// <summary>Opens the frozen text and image encoders from the folders users download (README, "Pretrained weights").</summary>
public static class FeatureEncoderLoader
{
    /// <summary>Image side the encoder runs at when config.json names no <c>image_size</c>: EfficientNet-B0's, and WavFusion's 224×224 face frames.</summary>
    public const int DefaultImageSize = 224;

    /// <summary>
    /// A Hugging Face RoBERTa (config.json <c>model_type</c> "roberta", vocab.json + merges.txt) or BERT ("bert",
    /// vocab.txt) folder with weights in any form <see cref="CheckpointReader"/> reads. The hash covers
    /// config.json, the tokenizer files and the weights, so any change to them is a different cache folder.
    /// </summary>
    public static ITextFeatureEncoder LoadText(string folder, Device? device = null)
    {
        ModelFiles.RequireFolder(folder, "a Hugging Face RoBERTa or BERT folder");
        string config = ModelFiles.Require(folder, "config.json", "the model configuration");
        string modelType = ModelType(config);
        string weights = CheckpointReader.ResolveWeights(folder);
        var target = device ?? torch.CPU;
        // The tokenizer first: a folder without its vocabulary fails before the weights are read.
        (TextTokenizer Tokenizer, string[] Files) tokenizer = modelType switch
        {
            "roberta" => (RobertaTokenizer.FromFolder(folder),
                [ModelFiles.Require(folder, "vocab.json", "RoBERTa tokenizer"), ModelFiles.Require(folder, "merges.txt", "RoBERTa tokenizer")]),
            "bert" => (BertTokenizer.FromFolder(folder),
                [ModelFiles.Require(folder, "vocab.txt", "BERT tokenizer"), .. Optional(folder, "tokenizer_config.json")]),
            _ => throw new ArgumentException($"{config}: model_type '{modelType}' is neither 'roberta' nor 'bert'"),
        };
        TextEncoderModel model = modelType == "roberta" ? RobertaModel.FromPretrained(folder) : BertModel.FromPretrained(folder);
        return ModuleLoading.DisposeOnFailure(model, m =>
            new TextFeatureEncoder(m.to(target), tokenizer.Tokenizer, target, ModelFiles.Hash([config, .. tokenizer.Files, weights])));
    }

    /// <summary>
    /// An EfficientNet-B0 folder (config.json + model.safetensors, a torchvision .pth or pytorch_model.bin; torchvision
    /// or timm key names; <c>width_mult</c>/<c>depth_mult</c> for a scaled-down net). Frames are resized to the
    /// config's <c>image_size</c> (default 224) when they come at another size.
    /// </summary>
    public static IVisualFeatureEncoder LoadVisual(string folder, Device? device = null)
    {
        ModelFiles.RequireFolder(folder, "an EfficientNet-B0 folder");
        string configPath = ModelFiles.Require(folder, "config.json", "the EfficientNet descriptor: model_type, source");
        var config = EfficientNetConfig.Load(configPath);
        var pth = Directory.GetFiles(folder, "*.pth");
        // The same choice EfficientNetB0.FromCheckpoint makes, so the hash covers the file it loads.
        string weights = !File.Exists(Path.Combine(folder, "model.safetensors")) && pth.Length == 1 ? pth[0] : CheckpointReader.ResolveWeights(folder);
        var target = device ?? torch.CPU;
        return ModuleLoading.DisposeOnFailure(EfficientNetB0.FromCheckpoint(folder), m =>
            new VisualFeatureEncoder(m.to(target), target, config.ImageSize ?? DefaultImageSize, ModelFiles.Hash([configPath, weights])));
    }

    private static IEnumerable<string> Optional(string folder, string name)
    {
        string path = Path.Combine(folder, name);
        return File.Exists(path) ? [path] : [];
    }

    private static string ModelType(string configPath)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(configPath));
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("model_type", out var t) && t.ValueKind == JsonValueKind.String
                ? t.GetString()!
                : throw new ArgumentException($"{configPath}: no model_type (\"roberta\" or \"bert\")");
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{configPath}: malformed config.json: {e.Message}", e);
        }
    }
}
