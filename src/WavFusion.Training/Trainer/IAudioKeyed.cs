namespace WavFusion.Training.Trainer;

/// <summary>
/// An item that can name its audio without producing it (file, size, time and cut), so that
/// <see cref="Classifiers.WavFusionBatchCollator"/> finds its cached shallow features without decoding or hashing the samples.
/// </summary>
public interface IAudioKeyed
{
    /// <summary>Changes whenever the item's audio may have changed; the feature-cache key of its audio.</summary>
    string AudioKey { get; }
}
