using TorchSharp;
using WavFusion.Core.Checkpoints;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Text;

/// <summary>
/// The BERT-family encoder shared by <see cref="RobertaModel"/> and <see cref="BertModel"/>: embeddings,
/// a stack of post-LN layers and the pooler, under the Hugging Face key names.
/// </summary>
public abstract class TextEncoderModel : nn.Module<Tensor, Tensor, Tensor>
{
    public readonly BertEmbeddings embeddings;
    public readonly BertEncoder encoder;
    public readonly BertPooler pooler;

    public TextEncoderConfig Config { get; }

    private protected TextEncoderModel(string name, TextEncoderConfig config, PositionIdScheme positions) : base(name)
    {
        config.Validate(name);
        Config = config;
        embeddings = new BertEmbeddings(config, positions);
        encoder = new BertEncoder(config);
        pooler = new BertPooler(config);
        RegisterComponents();
    }

    /// <summary>last_hidden_state (B, T, H) for token ids (B, T) and a 0/1 attention mask (B, T).</summary>
    public override Tensor forward(Tensor inputIds, Tensor attentionMask)
    {
        using var scope = torch.NewDisposeScope();
        // The scope frees the other hidden states; only the last one leaves.
        return Encode(inputIds, attentionMask).LastHiddenState.MoveToOuterDisposeScope();
    }

    /// <summary>The embedding output and every layer's output.</summary>
    /// <param name="inputIds">(B, T) int64 token ids.</param>
    /// <param name="attentionMask">(B, T), 1 for real tokens and 0 for padding (any integer, bool or float type).</param>
    /// <param name="tokenTypeIds">(B, T) int64 segment ids; null means segment 0 everywhere.</param>
    public TextEncoderOutput Encode(Tensor inputIds, Tensor attentionMask, Tensor? tokenTypeIds = null)
    {
        CheckInputs(inputIds, attentionMask, tokenTypeIds);
        using var scope = torch.NewDisposeScope();
        var h = embeddings.forward(inputIds, tokenTypeIds);
        var additive = AdditiveMask(attentionMask, h.dtype);
        var layers = encoder.forward(h, additive);
        var states = new List<Tensor>(layers.Count + 1) { h.MoveToOuterDisposeScope() };
        foreach (var l in layers) states.Add(l.MoveToOuterDisposeScope());
        return new TextEncoderOutput(states[^1], states);
    }

    /// <summary>pooler_output (B, H) = tanh(dense(h[:, 0])).</summary>
    public Tensor Pool(Tensor lastHiddenState) => pooler.forward(lastHiddenState);

    /// <summary>(B, T) 0/1 mask → (B, 1, 1, T) scores offset: 0 where attended, the dtype's minimum where masked.</summary>
    public static Tensor AdditiveMask(Tensor attentionMask, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var keep = attentionMask.to(dtype);
        var additive = keep.neg().add(One, One).mul(Lowest(dtype));
        return additive.unsqueeze(1).unsqueeze(2).MoveToOuterDisposeScope();
    }

    private void CheckInputs(Tensor inputIds, Tensor attentionMask, Tensor? tokenTypeIds)
    {
        if (inputIds.dim() != 2)
            throw new ArgumentException($"input_ids must be (batch, tokens), got [{string.Join(", ", inputIds.shape)}]", nameof(inputIds));
        if (inputIds.dtype != ScalarType.Int64 && inputIds.dtype != ScalarType.Int32)
            throw new ArgumentException($"input_ids must be an integer tensor, got {inputIds.dtype}", nameof(inputIds));
        if (!attentionMask.shape.SequenceEqual(inputIds.shape))
            throw new ArgumentException($"attention_mask [{string.Join(", ", attentionMask.shape)}] does not match input_ids [{string.Join(", ", inputIds.shape)}]", nameof(attentionMask));
        if (tokenTypeIds is not null && !tokenTypeIds.shape.SequenceEqual(inputIds.shape))
            throw new ArgumentException($"token_type_ids [{string.Join(", ", tokenTypeIds.shape)}] does not match input_ids [{string.Join(", ", inputIds.shape)}]", nameof(tokenTypeIds));
        if (inputIds.numel() > 0)
        {
            long lo = inputIds.min().item<long>(), hi = inputIds.max().item<long>();
            if (lo < 0 || hi >= Config.VocabSize)
                throw new ArgumentException($"input_ids must lie in [0, {Config.VocabSize}), got values in [{lo}, {hi}]", nameof(inputIds));
        }
    }

    /// <summary>
    /// Loads a Hugging Face checkpoint into <paramref name="model"/>: keys under <paramref name="prefix"/>
    /// (as saved by the *ForMaskedLM / *ForPreTraining classes) lose it, task heads are ignored and
    /// anything else must match exactly.
    /// </summary>
    private protected static void LoadWeights(TextEncoderModel model, string weightsPath, string prefix)
    {
        Dictionary<string, Tensor> raw;
        raw = CheckpointReader.ReadStateDict(weightsPath);
        try
        {
            var stripped = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var (key, t) in raw)
            {
                string name = key.StartsWith(prefix, StringComparison.Ordinal) ? key[prefix.Length..] : key;
                if (!stripped.TryAdd(name, t))
                    throw new CheckpointException($"{weightsPath}: both '{key}' and its unprefixed form are present");
            }
            StateDictLoader.Load(model, stripped, weightsPath);
        }
        finally
        {
            foreach (var t in raw.Values) t.Dispose();
        }
    }

    /// <summary>config.json and weights (any format <see cref="CheckpointReader"/> reads) for a Hugging Face folder or a weights file beside its config.json.</summary>
    private protected static (string Config, string Weights) ResolveFiles(string folderOrFile)
    {
        string weights = CheckpointReader.ResolveWeights(folderOrFile);
        string folder = Directory.Exists(folderOrFile) ? folderOrFile : Path.GetDirectoryName(Path.GetFullPath(folderOrFile))!;
        string config = Path.Combine(folder, "config.json");
        if (!File.Exists(config)) throw new CheckpointException($"{folder}: no config.json beside the weights");
        return (config, weights);
    }
}
