using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using TorchSharp;
using static TorchSharp.torch;

namespace WavFusion.Core.Checkpoints;

/// <summary>
/// The JSON half of our own checkpoints (<c>checkpoint.json</c> beside <c>model.safetensors</c>): what the
/// weights are, how to rebuild the model, the label set in output order and how it was trained.
/// </summary>
public sealed record CheckpointManifest
{
    public const string CurrentFormat = "wavfusion-checkpoint/1";

    [JsonPropertyName("format")] public string Format { get; init; } = CurrentFormat;
    [JsonPropertyName("model_type")] public required string ModelType { get; init; }
    [JsonPropertyName("model_version")] public required string ModelVersion { get; init; }
    [JsonPropertyName("config")] public required JsonObject Config { get; init; }
    [JsonPropertyName("labels")] public required IReadOnlyList<string> Labels { get; init; }
    [JsonPropertyName("training")] public JsonObject? Training { get; init; }
    /// <summary>How audio is preprocessed for this model (HF preprocessor_config.json keys); null in checkpoints that predate it.</summary>
    [JsonPropertyName("feature_extractor")] public JsonObject? FeatureExtractor { get; init; }
    [JsonPropertyName("weights_sha256")] public string? WeightsSha256 { get; init; }
    [JsonPropertyName("created_utc")] public DateTime CreatedUtc { get; init; } = DateTime.UtcNow;
}

/// <summary>Saves and loads our checkpoint folders. Saving is atomic: a crash leaves the previous checkpoint intact.</summary>
public static class ModelCheckpoint
{
    public const string WeightsFile = "model.safetensors";
    public const string ManifestFile = "checkpoint.json";

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    public static void Save(string folder, nn.Module module, CheckpointManifest manifest) =>
        Save(folder, module.state_dict(), manifest);

    public static void Save(string folder, IReadOnlyDictionary<string, Tensor> weights, CheckpointManifest manifest)
    {
        string full = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar);
        string staging = $"{full}.tmp-{Environment.ProcessId}";
        string previous = $"{full}.old-{Environment.ProcessId}";
        if (Directory.Exists(staging)) Directory.Delete(staging, true);
        Directory.CreateDirectory(staging);
        try
        {
            string weightsPath = Path.Combine(staging, WeightsFile);
            SafeTensorsWriter.Write(weightsPath, weights, new Dictionary<string, string> { ["format"] = "pt", ["model_type"] = manifest.ModelType });
            var withHash = manifest with { WeightsSha256 = Sha256(weightsPath) };
            File.WriteAllText(Path.Combine(staging, ManifestFile), JsonSerializer.Serialize(withHash, JsonOptions));

            if (Directory.Exists(full)) Directory.Move(full, previous);
            Directory.Move(staging, full);
            if (Directory.Exists(previous)) Directory.Delete(previous, true);
        }
        catch
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, true);
            if (!Directory.Exists(full) && Directory.Exists(previous)) Directory.Move(previous, full);
            throw;
        }
    }

    public static CheckpointManifest ReadManifest(string folder)
    {
        if (!Directory.Exists(folder))
            throw new CheckpointException(File.Exists(folder) ? $"{folder}: is a file; a checkpoint is a folder holding {ManifestFile} and {WeightsFile}" : $"{folder}: folder does not exist");
        string path = Path.Combine(folder, ManifestFile);
        if (!File.Exists(path)) throw new CheckpointException($"{folder}: not a WavFusion checkpoint ({ManifestFile} is missing)");
        CheckpointManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<CheckpointManifest>(File.ReadAllText(path), JsonOptions);
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{path}: invalid checkpoint manifest: {e.Message}", e);
        }
        if (manifest is null) throw new CheckpointException($"{path}: empty checkpoint manifest");
        if (manifest.Format != CheckpointManifest.CurrentFormat)
            throw new CheckpointException($"{path}: checkpoint format '{manifest.Format}' is not supported (this build reads {CheckpointManifest.CurrentFormat})");
        return manifest;
    }

    /// <summary>Reads manifest and weights, verifying the weights against the manifest's hash.</summary>
    public static (CheckpointManifest Manifest, Dictionary<string, Tensor> Weights) Load(string folder)
    {
        var manifest = ReadManifest(folder);
        string weightsPath = Path.Combine(folder, WeightsFile);
        if (!File.Exists(weightsPath)) throw new CheckpointException($"{folder}: {WeightsFile} is missing");
        if (manifest.WeightsSha256 is { } expected && !string.Equals(expected, Sha256(weightsPath), StringComparison.OrdinalIgnoreCase))
            throw new CheckpointException($"{weightsPath}: sha256 does not match {ManifestFile} (file changed or damaged)");
        using var st = SafeTensorsFile.Open(weightsPath);
        return (manifest, st.ReadAll());
    }

    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
