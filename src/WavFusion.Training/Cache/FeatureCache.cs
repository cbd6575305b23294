using System.Security.Cryptography;
using System.Text;
using WavFusion.Core.Checkpoints;
using static TorchSharp.torch;

namespace WavFusion.Training.Cache;

/// <summary>Hits and misses of a <see cref="FeatureCache"/> since it was opened.</summary>
public sealed record FeatureCacheStats(long Hits, long Misses, long Corrupt);

/// <summary>
/// On-disk cache of what the frozen parts compute (RoBERTa token features, EfficientNet frame features,
/// the wav2vec2 CNN + shallow layers), so epochs and experiments read instead of recompute.
/// Entries live at <c>root/kind/model-hash/xx/item-hash.safetensors</c>: a different model hash is a
/// different folder, so changing the frozen model (or its config) can never serve stale features.
/// Each entry is written to a temporary file and renamed into place, so a crash mid-write leaves either
/// the old entry or none; an entry that cannot be read is counted, recomputed and replaced.
/// </summary>
public sealed class FeatureCache
{
    private long _hits, _misses, _corrupt;

    public FeatureCache(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Root = Path.GetFullPath(root);
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public FeatureCacheStats Stats => new(Interlocked.Read(ref _hits), Interlocked.Read(ref _misses), Interlocked.Read(ref _corrupt));

    /// <summary>
    /// A stable hash of a frozen model: its configuration text and every parameter and buffer (names,
    /// dtypes, shapes and bytes), so retraining, another checkpoint or another config all change it.
    /// </summary>
    public static string ModelHash(IReadOnlyDictionary<string, Tensor> weights, string configText)
    {
        ArgumentNullException.ThrowIfNull(weights);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes(configText ?? ""));
        foreach (var (name, tensor) in weights.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            sha.AppendData(Encoding.UTF8.GetBytes($"\n{name}|{tensor.dtype}|{string.Join(",", tensor.shape)}|"));
            using var cpu = tensor.detach().cpu().contiguous();
            if (cpu.numel() > 0) sha.AppendData(cpu.bytes);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>Cached tensors of <paramref name="itemKey"/> under the model, or those <paramref name="compute"/> returns (then stored).</summary>
    /// <param name="kind">What is cached (e.g. "wav2vec2-shallow", "roberta", "efficientnet").</param>
    /// <param name="modelHash">From <see cref="ModelHash"/>.</param>
    /// <param name="itemKey">Identifies the item and its content (e.g. id plus file size and time, or a content hash).</param>
    public Dictionary<string, Tensor> GetOrCompute(string kind, string modelHash, string itemKey, Func<IReadOnlyDictionary<string, Tensor>> compute)
    {
        ArgumentNullException.ThrowIfNull(compute);
        string path = EntryPath(kind, modelHash, itemKey);
        if (File.Exists(path))
        {
            try
            {
                using var file = SafeTensorsFile.Open(path);
                if (file.Metadata.TryGetValue("item", out var stored) && stored == itemKey)
                {
                    Interlocked.Increment(ref _hits);
                    return file.ReadAll();
                }
            }
            catch (CheckpointException)
            {
                // A damaged entry (disk full, foreign file): recompute and replace it below.
            }
            Interlocked.Increment(ref _corrupt);
        }
        Interlocked.Increment(ref _misses);
        var computed = compute();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        SafeTensorsWriter.Write(path, computed, new Dictionary<string, string> { ["item"] = itemKey, ["model"] = modelHash, ["kind"] = kind });
        return computed.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
    }

    /// <summary>Whether an entry is stored for the item (it may still turn out damaged; <see cref="GetOrCompute"/> then recomputes it).</summary>
    public bool Contains(string kind, string modelHash, string itemKey) => File.Exists(EntryPath(kind, modelHash, itemKey));

    /// <summary>Deletes the entries of <paramref name="kind"/> made by models other than <paramref name="keepModelHash"/>; returns how many folders went.</summary>
    public int Prune(string kind, string keepModelHash)
    {
        string folder = Path.Combine(Root, Safe(kind));
        if (!Directory.Exists(folder)) return 0;
        int removed = 0;
        foreach (var dir in Directory.GetDirectories(folder))
        {
            if (Path.GetFileName(dir) == Safe(keepModelHash)) continue;
            Directory.Delete(dir, recursive: true);
            removed++;
        }
        return removed;
    }

    private string EntryPath(string kind, string modelHash, string itemKey)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelHash);
        ArgumentException.ThrowIfNullOrWhiteSpace(itemKey);
        string item = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(itemKey)));
        return Path.Combine(Root, Safe(kind), Safe(modelHash), item[..2], item + ".safetensors");
    }

    private static string Safe(string name)
    {
        var chars = name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray();
        string s = new(chars);
        return s is "." or ".." ? "_" : s;
    }
}
