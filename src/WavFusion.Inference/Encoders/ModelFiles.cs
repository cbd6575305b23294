using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using WavFusion.Core.Checkpoints;

namespace WavFusion.Inference.Encoders;

/// <summary>The files of a pretrained-model folder and one hash over all of them (the feature-cache key of its features).</summary>
internal static class ModelFiles
{
    /// <summary>
    /// SHA-256 over each file's name and bytes, in the given order; a sharded index also brings in every
    /// shard it names, so swapping any shard changes the hash.
    /// </summary>
    public static string Hash(IEnumerable<string> files)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in files.SelectMany(WithShards))
        {
            sha.AppendData(Encoding.UTF8.GetBytes($"\n{Path.GetFileName(file)}|"));
            using var stream = File.OpenRead(file);
            var buffer = new byte[1 << 20];
            int read;
            while ((read = stream.Read(buffer, 0, buffer.Length)) > 0) sha.AppendData(buffer, 0, read);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary><paramref name="folder"/>/<paramref name="name"/>, or an error naming the folder and what the file is for.</summary>
    public static string Require(string folder, string name, string what)
    {
        string path = Path.Combine(folder, name);
        if (!File.Exists(path)) throw new FileNotFoundException($"{folder}: no {name} ({what})", path);
        return path;
    }

    public static void RequireFolder(string folder, string what)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{folder}: no such folder ({what} expected)");
    }

    private static IEnumerable<string> WithShards(string file)
    {
        yield return file;
        if (!file.EndsWith(".index.json", StringComparison.Ordinal)) yield break;
        string folder = Path.GetDirectoryName(Path.GetFullPath(file))!;
        List<string> shards;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            shards = doc.RootElement.GetProperty("weight_map").EnumerateObject()
                .Select(p => p.Value.GetString() ?? "").Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new CheckpointException($"{file}: sharded index has no readable weight_map: {e.Message}", e);
        }
        foreach (var shard in shards)
        {
            string path = Path.Combine(folder, shard);
            if (!File.Exists(path)) throw new CheckpointException($"{file}: names shard '{shard}', which is missing");
            yield return path;
        }
    }
}
