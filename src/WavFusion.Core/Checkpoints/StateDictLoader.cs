using System.Text;
using System.Text.RegularExpressions;
using TorchSharp;
using static TorchSharp.torch;

namespace WavFusion.Core.Checkpoints;

/// <summary>What a load found: keys the module wanted and did not get, keys the checkpoint had and the module does not use, and shape mismatches.</summary>
public sealed record LoadReport(
    string Source,
    IReadOnlyList<string> Loaded,
    IReadOnlyList<string> Missing,
    IReadOnlyList<string> Unexpected,
    IReadOnlyList<string> ShapeMismatches,
    IReadOnlyList<string> IgnoredOptional)
{
    public bool IsClean => Missing.Count == 0 && Unexpected.Count == 0 && ShapeMismatches.Count == 0;

    public string Describe()
    {
        var sb = new StringBuilder();
        sb.Append(Source).Append(": checkpoint does not match the model");
        if (Missing.Count > 0) sb.Append("; missing keys: ").Append(string.Join(", ", Missing));
        if (Unexpected.Count > 0) sb.Append("; unexpected keys: ").Append(string.Join(", ", Unexpected));
        if (ShapeMismatches.Count > 0) sb.Append("; shape mismatches: ").Append(string.Join("; ", ShapeMismatches));
        return sb.ToString();
    }
}

/// <summary>
/// Keys that public checkpoints carry (or lack) legitimately, in one place: training-only heads and
/// buffers a checkpoint may hold that our modules do not have, and parameters a checkpoint may lack
/// that our modules initialise themselves.
/// </summary>
public static class KnownOptionalKeys
{
    /// <summary>Checkpoint keys that are dropped without complaint.</summary>
    public static readonly IReadOnlyList<Regex> IgnorableInCheckpoint =
    [
        new(@"(^|\.)masked_spec_embed$"),                 // wav2vec2 pretraining mask embedding
        new(@"^(wav2vec2\.)?quantizer\."),                  // wav2vec2 pretraining quantiser
        new(@"^project_(hid|q)\."),                         // wav2vec2 pretraining projections
        new(@"^lm_head\."),                                 // CTC / masked-LM heads
        new(@"(^|\.)embeddings\.position_ids$"),            // old transformers buffer
        new(@"(^|\.)num_batches_tracked$"),                 // BatchNorm counter
        new(@"^(cls|lm_head)\."),                           // BERT pretraining heads
        new(@"^proj_out\.weight$"),                         // Whisper output projection, tied to embed_tokens
    ];

    /// <summary>Module keys a checkpoint may lack; the module keeps its own initialisation.</summary>
    public static readonly IReadOnlyList<Regex> OptionalInModule =
    [
        new(@"(^|\.)pooler\.dense\.(weight|bias)$"),         // roberta-base ships no pooler
        new(@"(^|\.)num_batches_tracked$"),
    ];

    public static bool IsIgnorable(string key) => IgnorableInCheckpoint.Any(r => r.IsMatch(key));
    public static bool IsOptional(string key) => OptionalInModule.Any(r => r.IsMatch(key));
}

public static class StateDictLoader
{
    /// <summary>
    /// Copies <paramref name="source"/> into the module's parameters and buffers (cast to each target's
    /// dtype and device). Throws <see cref="CheckpointException"/> naming every missing, unexpected and
    /// mis-shaped key before anything is copied, so a failed load leaves the module untouched.
    /// </summary>
    public static LoadReport Load(nn.Module module, IReadOnlyDictionary<string, Tensor> source, string sourceName,
        Func<string, bool>? extraIgnorable = null, Func<string, bool>? extraOptional = null)
    {
        var target = module.state_dict();
        var loaded = new List<string>();
        var missing = new List<string>();
        var unexpected = new List<string>();
        var shapes = new List<string>();
        var ignored = new List<string>();

        foreach (var (key, t) in target)
        {
            if (source.TryGetValue(key, out var s))
            {
                if (!s.shape.SequenceEqual(t.shape))
                    shapes.Add($"{key}: checkpoint [{string.Join(", ", s.shape)}] vs model [{string.Join(", ", t.shape)}]");
                else
                    loaded.Add(key);
            }
            else if (KnownOptionalKeys.IsOptional(key) || (extraOptional?.Invoke(key) ?? false))
                ignored.Add(key);
            else
                missing.Add(key);
        }
        foreach (var key in source.Keys)
        {
            if (target.ContainsKey(key)) continue;
            if (KnownOptionalKeys.IsIgnorable(key) || (extraIgnorable?.Invoke(key) ?? false)) ignored.Add(key);
            else unexpected.Add(key);
        }
        missing.Sort(StringComparer.Ordinal);
        unexpected.Sort(StringComparer.Ordinal);
        var report = new LoadReport(sourceName, loaded, missing, unexpected, shapes, ignored);
        if (!report.IsClean) throw new CheckpointException(report.Describe());

        using (torch.no_grad())
        {
            foreach (var key in loaded) target[key].copy_(source[key]);
        }
        return report;
    }
}
