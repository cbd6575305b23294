using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Core.Quantization;
using static TorchSharp.torch;

namespace WavFusion.Models.Whisper;

/// <summary>
/// A loaded Whisper: model, tokenizer, front end and decoding defaults, from either a Hugging Face folder
/// (config.json, model.safetensors or its shards, vocab.json, generation_config.json) or a whisper.cpp ggml file.
/// </summary>
public sealed class WhisperPretrained : IDisposable
{
    public WhisperForConditionalGeneration Model { get; }
    public WhisperTokenizer Tokenizer { get; }
    public LogMelSpectrogram FrontEnd { get; }
    public WhisperGenerationConfig? Generation { get; }
    public string Source { get; }

    public WhisperPretrained(WhisperForConditionalGeneration model, WhisperTokenizer tokenizer, LogMelSpectrogram frontEnd,
        WhisperGenerationConfig? generation, string source)
    {
        Model = model;
        Tokenizer = tokenizer;
        FrontEnd = frontEnd;
        Generation = generation;
        Source = source;
    }

    public WhisperSpecialTokens Special => Tokenizer.Special;

    /// <summary>
    /// Loads a folder as Hugging Face, a file as ggml, with the decoder's weights held as <paramref name="decoderWeights"/>
    /// (fp32, or packed f16/int8 for CPU decoding; see <see cref="WhisperDecoder"/>).
    /// </summary>
    public static WhisperPretrained Load(string path, WeightFormat decoderWeights = WeightFormat.Fp32) =>
        Directory.Exists(path) ? LoadHuggingFace(path, decoderWeights)
        : File.Exists(path) ? LoadGgml(path, decoderWeights)
        : throw new FileNotFoundException($"{path}: no Whisper model folder or ggml file here", path);

    public static WhisperPretrained LoadGgml(string path, WeightFormat decoderWeights = WeightFormat.Fp32)
    {
        var (model, file) = WhisperGgmlFile.LoadModel(path, decoderWeights);
        using var _ = file;
        model.eval();
        var tokenizer = new WhisperTokenizer(file.Vocabulary, file.SpecialTokens);
        // The bank stored in the file is the one the model was trained with.
        return new WhisperPretrained(model, tokenizer, new LogMelSpectrogram(file.FilterMels, file.MelFilters), null, path);
    }

    public static WhisperPretrained LoadHuggingFace(string folder, WeightFormat decoderWeights = WeightFormat.Fp32)
    {
        var config = WhisperConfig.Load(Path.Combine(folder, "config.json"));
        string vocab = Path.Combine(folder, "vocab.json");
        if (!File.Exists(vocab)) throw new FileNotFoundException($"{folder}: vocab.json missing (the Whisper tokenizer files are needed)", vocab);
        var tokenizer = WhisperTokenizer.FromHuggingFace(vocab, config.VocabSize);
        string generationPath = Path.Combine(folder, "generation_config.json");
        var generation = File.Exists(generationPath) ? WhisperGenerationConfig.Load(generationPath) : null;

        var model = ModuleLoading.BuildAndLoad(() => new WhisperForConditionalGeneration(config, decoderWeights), m =>
        {
            using var scope = torch.NewDisposeScope();
            var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var shard in WeightFiles(folder))
            {
                using var file = SafeTensorsFile.Open(shard);
                foreach (var (k, v) in file.ReadAll()) weights[k] = v;
            }
            if (decoderWeights == WeightFormat.Fp32) StateDictLoader.Load(m, weights, folder);
            else m.LoadWeights(weights, folder);
        });
        model.eval();
        return new WhisperPretrained(model, tokenizer, new LogMelSpectrogram(config.NumMelBins), generation, folder);
    }

    private static IEnumerable<string> WeightFiles(string folder)
    {
        string single = Path.Combine(folder, "model.safetensors");
        if (File.Exists(single)) return [single];
        string index = Path.Combine(folder, "model.safetensors.index.json");
        if (!File.Exists(index)) throw new CheckpointException($"{folder}: neither model.safetensors nor model.safetensors.index.json is present");
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(index));
        if (!doc.RootElement.TryGetProperty("weight_map", out var map))
            throw new CheckpointException($"{index}: no weight_map");
        return map.EnumerateObject().Select(p => Path.Combine(folder, p.Value.GetString()!)).Distinct().ToArray();
    }

    public void Dispose()
    {
        Model.Dispose();
        FrontEnd.Dispose();
    }
}
