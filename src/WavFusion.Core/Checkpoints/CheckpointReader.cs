using System.Text.Json;
using static TorchSharp.torch;

namespace WavFusion.Core.Checkpoints;

/// <summary>
/// Opens the weight files users have: a Hugging Face folder (model.safetensors, a sharded
/// model.safetensors.index.json, pytorch_model.bin or its sharded index), or a single .safetensors /
/// .bin / .pt / .pth file. Returns the state dict on the CPU in the stored dtypes; the caller owns it.
/// </summary>
public static class CheckpointReader
{
    private static readonly string[] FolderCandidates =
    [
        "model.safetensors",
        "model.safetensors.index.json",
        "pytorch_model.bin",
        "pytorch_model.bin.index.json",
    ];

    /// <summary>The weight file a folder or path resolves to, or an error listing what was looked for.</summary>
    public static string ResolveWeights(string path)
    {
        if (File.Exists(path)) return path;
        if (!Directory.Exists(path)) throw new CheckpointException($"{path}: no such file or folder");
        foreach (var name in FolderCandidates)
        {
            string candidate = Path.Combine(path, name);
            if (File.Exists(candidate)) return candidate;
        }
        throw new CheckpointException($"{path}: no weights found (looked for {string.Join(", ", FolderCandidates)})");
    }

    public static Dictionary<string, Tensor> ReadStateDict(string path)
    {
        string file = ResolveWeights(path);
        if (file.EndsWith(".index.json", StringComparison.Ordinal)) return ReadSharded(file);
        if (file.EndsWith(".safetensors", StringComparison.Ordinal))
        {
            using var st = SafeTensorsFile.Open(file);
            return st.ReadAll();
        }
        return TorchPickleReader.Read(file);
    }

    /// <summary>Reads a transformers sharded checkpoint: the index's weight_map names the shard of every key.</summary>
    public static Dictionary<string, Tensor> ReadSharded(string indexPath)
    {
        Dictionary<string, string> weightMap;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(indexPath));
            if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new CheckpointException($"{indexPath}: sharded index has no 'weight_map' object");
            weightMap = map.EnumerateObject().ToDictionary(
                p => p.Name,
                p => p.Value.GetString() ?? throw new CheckpointException($"{indexPath}: weight_map entry '{p.Name}' is not a file name"),
                StringComparer.Ordinal);
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{indexPath}: sharded index is not valid JSON: {e.Message}", e);
        }

        string folder = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var shard in weightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                if (shard.Contains("..", StringComparison.Ordinal) || Path.IsPathRooted(shard))
                    throw new CheckpointException($"{indexPath}: shard name '{shard}' leaves the checkpoint folder");
                string shardPath = Path.Combine(folder, shard);
                var tensors = shard.EndsWith(".safetensors", StringComparison.Ordinal)
                    ? ReadSafeTensors(shardPath)
                    : TorchPickleReader.Read(shardPath);
                foreach (var (key, tensor) in tensors)
                {
                    if (weightMap.TryGetValue(key, out var expected) && expected == shard) result[key] = tensor;
                    else
                    {
                        tensor.Dispose();
                        if (!weightMap.ContainsKey(key))
                            throw new CheckpointException($"{shardPath}: tensor '{key}' is not listed in the index {Path.GetFileName(indexPath)}");
                    }
                }
            }
            var absent = weightMap.Keys.Where(k => !result.ContainsKey(k)).Order(StringComparer.Ordinal).ToList();
            if (absent.Count > 0)
                throw new CheckpointException($"{indexPath}: keys listed in weight_map are missing from their shards: {string.Join(", ", absent.Take(10))}{(absent.Count > 10 ? $" (+{absent.Count - 10} more)" : "")}");
            return result;
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
    }

    private static Dictionary<string, Tensor> ReadSafeTensors(string path)
    {
        using var st = SafeTensorsFile.Open(path);
        return st.ReadAll();
    }
}
