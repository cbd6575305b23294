using WavFusion.Training.Trainer;
using static TorchSharp.torch;

namespace WavFusion.Training.Features;

/// <summary>
/// An item <see cref="ItemFeaturizer"/> prepared, holding as little as it can: the audio is decoded on each
/// access (the trainer's cache makes that once per corpus), and cached text/visual features are read back
/// from the feature cache on each access. Tensors it returns belong to the caller's dispose scope
/// (the trainer opens one per batch), except features kept in memory when there is no cache.
/// </summary>
public sealed class PreparedItem : ITrainingItem, IAudioKeyed
{
    private readonly Func<float[]> _audio;
    private readonly Func<Tensor?> _text;
    private readonly Func<Tensor?> _visual;

    internal PreparedItem(string id, int label, string audioKey, Func<float[]> audio, Func<Tensor?> text, Func<Tensor?> visual)
    {
        Id = id;
        Label = label;
        AudioKey = audioKey;
        _audio = audio;
        _text = text;
        _visual = visual;
    }

    public string Id { get; }

    public int Label { get; }

    public string AudioKey { get; }

    /// <summary>16 kHz mono samples of the cut, decoded now.</summary>
    public float[] Audio => _audio();

    public Tensor? Text => _text();

    public Tensor? Visual => _visual();
}
