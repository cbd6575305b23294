using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using WavFusion.Core.Checkpoints;
using static TorchSharp.torch;

namespace WavFusion.Models.Wav2Vec2;

/// <summary>A normalised, padded batch: input values (B, L) float32 and sample mask (B, L) bool, True = real sample.</summary>
public sealed record Wav2Vec2Batch(Tensor InputValues, Tensor SampleMask) : IDisposable
{
    public void Dispose()
    {
        InputValues.Dispose();
        SampleMask.Dispose();
    }
}

/// <summary>
/// The HF <c>Wav2Vec2FeatureExtractor</c> preprocessing: each utterance is normalised to zero mean and unit
/// variance over its own samples, <c>(x − mean) / √(var + 1e-7)</c> (population variance), then right-padded
/// with zeros. Statistics are accumulated in double precision.
/// </summary>
public sealed class Wav2Vec2FeatureExtractor
{
    /// <summary>The variance floor of current transformers (older releases used 1e-5).</summary>
    public const double VarianceEpsilon = 1e-7;

    public bool DoNormalize { get; init; } = true;

    /// <summary>
    /// Whether the checkpoint expects a sample mask with padded batches. False for the group-norm family,
    /// which was trained on zero-padded audio without a mask; true for the layer-norm family (lv60).
    /// Advisory: <see cref="NormalizeBatch"/> always returns the mask, the caller decides whether to pass it.
    /// Defaults to false as in transformers.
    /// </summary>
    public bool ReturnAttentionMask { get; init; }

    /// <summary>
    /// Reads HF's preprocessor_config.json (<c>do_normalize</c>, <c>return_attention_mask</c>,
    /// <c>sampling_rate</c>); a folder without one gets the defaults.
    /// </summary>
    public static Wav2Vec2FeatureExtractor FromPretrained(string folder)
    {
        string path = Path.Combine(folder, "preprocessor_config.json");
        if (!File.Exists(path)) return new Wav2Vec2FeatureExtractor();
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{path}: not a valid preprocessor_config.json: {e.Message}", e);
        }
        return FromJson(root as JsonObject ?? throw new CheckpointException($"{path}: not a JSON object"), path);
    }

    /// <summary>
    /// The settings as recorded under <c>feature_extractor</c> in our checkpoint.json (the keys of HF's
    /// preprocessor_config.json), so training and serving preprocess alike; <paramref name="source"/> names
    /// the file in errors.
    /// </summary>
    public static Wav2Vec2FeatureExtractor FromJson(JsonObject settings, string source)
    {
        ArgumentNullException.ThrowIfNull(settings);
        try
        {
            if (settings["sampling_rate"] is { } rate && rate.GetValue<int>() != Wav2Vec2Config.SamplingRate)
                throw new CheckpointException($"{source}: sampling_rate is {rate}, wav2vec2 runs at {Wav2Vec2Config.SamplingRate} Hz");
            return new Wav2Vec2FeatureExtractor
            {
                DoNormalize = settings["do_normalize"]?.GetValue<bool>() ?? true,
                ReturnAttentionMask = settings["return_attention_mask"]?.GetValue<bool>() ?? false,
            };
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new CheckpointException($"{source}: feature-extractor settings: {e.Message}", e);
        }
    }

    /// <summary>The settings in preprocessor_config.json's keys (what <see cref="FromJson"/> reads).</summary>
    public JsonObject ToJson() => new()
    {
        ["feature_extractor_type"] = "Wav2Vec2FeatureExtractor",
        ["sampling_rate"] = Wav2Vec2Config.SamplingRate,
        ["do_normalize"] = DoNormalize,
        ["return_attention_mask"] = ReturnAttentionMask,
    };

    /// <summary>One utterance → input values (1, L).</summary>
    public Tensor Normalize(float[] samples, int sampleRate = Wav2Vec2Config.SamplingRate)
    {
        CheckSampleRate(sampleRate);
        CheckUtterance(samples, 0);
        return torch.tensor(Prepare(samples), [1, samples.Length]);
    }

    /// <summary>Several utterances → one right-padded batch with its sample mask.</summary>
    public Wav2Vec2Batch NormalizeBatch(IReadOnlyList<float[]> utterances, int sampleRate = Wav2Vec2Config.SamplingRate)
    {
        ArgumentNullException.ThrowIfNull(utterances);
        CheckSampleRate(sampleRate);
        if (utterances.Count == 0) throw new ArgumentException("the batch holds no utterances", nameof(utterances));
        for (int i = 0; i < utterances.Count; i++) CheckUtterance(utterances[i], i);
        int longest = utterances.Max(u => u.Length);
        var values = new float[utterances.Count * longest];
        var mask = new bool[utterances.Count * longest];
        for (int i = 0; i < utterances.Count; i++)
        {
            Prepare(utterances[i]).CopyTo(values, i * longest);
            mask.AsSpan(i * longest, utterances[i].Length).Fill(true);
        }
        return new Wav2Vec2Batch(torch.tensor(values, [utterances.Count, longest]), torch.tensor(mask, [utterances.Count, longest]));
    }

    private float[] Prepare(float[] samples)
    {
        if (!DoNormalize) return (float[])samples.Clone();
        double mean = 0;
        foreach (float x in samples) mean += x;
        mean /= samples.Length;
        double variance = 0;
        foreach (float x in samples) variance += (x - mean) * (x - mean);
        variance /= samples.Length;
        double scale = 1.0 / Math.Sqrt(variance + VarianceEpsilon);
        var result = new float[samples.Length];
        for (int i = 0; i < samples.Length; i++) result[i] = (float)((samples[i] - mean) * scale);
        return result;
    }

    private static void CheckSampleRate(int sampleRate)
    {
        if (sampleRate != Wav2Vec2Config.SamplingRate)
            throw new ArgumentException($"wav2vec2 expects audio at {Wav2Vec2Config.SamplingRate} Hz, got {sampleRate} Hz; resample first", nameof(sampleRate));
    }

    private static void CheckUtterance(float[]? samples, int index)
    {
        if (samples is null) throw new ArgumentNullException(nameof(samples), $"utterance {index} is null");
        if (samples.Length == 0) throw new ArgumentException($"utterance {index} is empty (0 samples)", nameof(samples));
        foreach (float x in samples)
            if (!float.IsFinite(x)) throw new ArgumentException($"utterance {index} contains a non-finite sample ({x})", nameof(samples));
    }
}
