using System.Text.Json;
using TorchSharp;
using WavFusion.Models.CrossModal;
using WavFusion.Models.Layers;
using WavFusion.Models.Wav2Vec2;
using WavFusion.Training.Cache;
using WavFusion.Training.Trainer;
using static TorchSharp.torch;

namespace WavFusion.Training.Classifiers;

/// <summary>
/// <see cref="CrossModalEmotionModel"/> for the trainer. Its audio input is the frozen wav2vec2's last hidden
/// state, computed one utterance at a time (no padding reaches the feature encoder) and cached per item under a
/// hash of the encoder's weights, like WavFusion's shallow audio. The encoder is not part of the checkpoint:
/// the experiment names it, and evaluation rebuilds it from there. Every trained parameter is new. The adapter
/// owns the encoder it is given and disposes it with the model.
/// </summary>
public sealed class CrossModalClassifier : EmotionClassifier<CrossModalEmotionModel>
{
    public const string Type = "crossmodal";
    public const string CacheKind = "wav2vec2-full";

    private const string Frames = "frames";

    private readonly Wav2Vec2Model? _audioEncoder;
    private readonly Wav2Vec2FeatureExtractor _extractor;

    /// <param name="audioEncoder">The frozen wav2vec2 (required unless the mode is text-only); its hidden size must be the config's audio_dim.</param>
    public CrossModalClassifier(CrossModalEmotionModel model, Wav2Vec2Model? audioEncoder, Wav2Vec2FeatureExtractor? extractor = null)
        : base(model, Type)
    {
        if (Model.Config.UsesAudio)
        {
            if (audioEncoder is null) throw new ArgumentException("the cross-modal model uses audio but no wav2vec2 encoder was given (encoders.wav2vec2)", nameof(audioEncoder));
            if (audioEncoder.Config.HiddenSize != Model.Config.AudioDim)
                throw new ArgumentException(
                    $"audio_dim is {Model.Config.AudioDim} but the wav2vec2 encoder's hidden_size is {audioEncoder.Config.HiddenSize}", nameof(audioEncoder));
            foreach (var p in audioEncoder.parameters()) p.requires_grad = false;
            audioEncoder.eval();
            _audioEncoder = audioEncoder;
        }
        _extractor = extractor ?? new Wav2Vec2FeatureExtractor();
    }

    public override IReadOnlyList<string> LabelNames => Model.Config.LabelNames;

    public override IBatchCollator CreateCollator(FeatureCache? cache) => new Collator(this, cache);

    public override ClassifierStep Forward(IClassifierBatch batch)
    {
        var input = OwnBatch<Batch>(batch, "cross-modal");
        var output = Model.forward(input.Input);
        return CrossEntropyStep(output.Probabilities, output.Logits, input.Labels);
    }

    protected override string ConfigJson() => Model.Config.ToJson();

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) _audioEncoder?.Dispose();
    }

    private sealed record Batch(CrossModalInput Input, Tensor Labels, IReadOnlyList<string> Ids) : IClassifierBatch;

    private sealed class Collator : IBatchCollator
    {
        private readonly CrossModalClassifier _owner;
        private readonly FeatureCache? _cache;
        private readonly Device _device;
        private readonly string? _encoderHash;

        public Collator(CrossModalClassifier owner, FeatureCache? cache)
        {
            _owner = owner;
            _cache = cache;
            _device = owner.Model.parameters().First().device;
            if (owner._audioEncoder is { } encoder)
            {
                var weights = encoder.state_dict();
                _encoderHash = FeatureCache.ModelHash(weights, JsonSerializer.Serialize(encoder.Config) + $"|full|normalize={owner._extractor.DoNormalize}");
            }
        }

        public IClassifierBatch Collate(IReadOnlyList<ITrainingItem> items)
        {
            ArgumentNullException.ThrowIfNull(items);
            if (items.Count == 0) throw new ArgumentException("cannot collate an empty batch", nameof(items));
            var config = _owner.Model.Config;
            ModalitySequence? audio = null, text = null;
            if (config.UsesAudio)
            {
                var frames = items.Select(i => AudioFeatures.Cached(_cache, CacheKind, _encoderHash!, i, Frames, Encode)).ToArray();
                var (padded, mask) = SequencePadding.Pad(frames, "wav2vec2 frames", config.AudioDim, _device);
                audio = new ModalitySequence(padded, mask);
            }
            if (config.UsesText)
                text = SequencePadding.Modality(items, i => i.Text, "text", config.TextDim, _device)
                       ?? throw new ArgumentException($"the cross-modal model uses text, but no item of the batch has text features (first: '{items[0].Id}')");
            return new Batch(new CrossModalInput(audio, text), SequencePadding.Labels(items, _device), items.Select(i => i.Id).ToArray());
        }

        private Dictionary<string, Tensor> Encode(ITrainingItem item)
        {
            var values = AudioFeatures.Normalize(_owner._extractor, item);
            using var noGrad = torch.no_grad();
            using var output = _owner._audioEncoder!.forward(values.to(_device));
            return new Dictionary<string, Tensor> { [Frames] = output.LastHiddenState[0].cpu().contiguous() };
        }
    }
}
