using System.Runtime.InteropServices;
using System.Security.Cryptography;
using WavFusion.Models.Wav2Vec2;
using WavFusion.Training.Cache;
using WavFusion.Training.Trainer;
using static TorchSharp.torch;

namespace WavFusion.Training.Classifiers;

/// <summary>
/// What the collators that run a frozen wav2vec2 part share: the item's audio preprocessed, its cache key, and
/// the per-item cache lookup of the frozen output (computed one utterance at a time, so no padding reaches the
/// group-norm feature encoder and a cached result equals a fresh one).
/// </summary>
internal static class AudioFeatures
{
    /// <summary>
    /// The cache key of an item's audio: its own <see cref="IAudioKeyed.AudioKey"/> when it has one (then the
    /// samples are only touched on a cache miss), else <see cref="ContentKey"/>.
    /// </summary>
    public static string Key(ITrainingItem item) => item is IAudioKeyed keyed ? keyed.AudioKey : ContentKey(item);

    /// <summary>Identifies an item's audio content, so a reader that reuses an id for changed audio misses the cache.</summary>
    public static string ContentKey(ITrainingItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        var digest = SHA256.HashData(MemoryMarshal.AsBytes(item.Audio.AsSpan()));
        return $"{item.Id}|{item.Audio.Length}|{Convert.ToHexStringLower(digest)}";
    }

    /// <summary>The item's input values (1, L); a bad utterance is an argument error naming the item.</summary>
    public static Tensor Normalize(Wav2Vec2FeatureExtractor extractor, ITrainingItem item)
    {
        try
        {
            return extractor.Normalize(item.Audio);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"item '{item.Id}': {e.Message}", e);
        }
    }

    /// <summary>The tensor <paramref name="name"/> of the item's frozen output: computed now without a cache, else read from or written to it.</summary>
    public static Tensor Cached(FeatureCache? cache, string kind, string modelHash, ITrainingItem item, string name,
        Func<ITrainingItem, Dictionary<string, Tensor>> encode)
    {
        if (cache is null) return encode(item)[name];
        var cached = cache.GetOrCompute(kind, modelHash, Key(item), () => encode(item));
        return cached.TryGetValue(name, out var tensor)
            ? tensor
            : throw new InvalidDataException($"feature cache entry of item '{item.Id}' has no '{name}' tensor");
    }

}
