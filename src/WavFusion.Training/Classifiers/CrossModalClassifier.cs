using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using WavFusion.Models.CrossModal;
using WavFusion.Models.Fusion;
using WavFusion.Models.Wav2Vec2;
using WavFusion.Training.Cache;
using WavFusion.Training.Trainer;
using static TorchSharp.torch;
using WavFusion.Models.Layers;

namespace WavFusion.Training.Classifiers;

/// <summary>
/// <see cref="CrossModalEmotionModel"/> for the trainer. Its audio input is the frozen wav2vec2's last hidden
/// state, computed one utterance at a time (no padding reaches the feature encoder) and cached per item under a
/// hash of the encoder's weights, like WavFusion's shallow audio. The encoder is not part of the checkpoint:
/// the experiment names it, and evaluation rebuilds it from there. Every trained parameter is new. The adapter
/// owns the encoder it is given and disposes it with the model.
/// </summary>
public sealed class CrossModalClassifier : IEmotionClassifier
{
    public const string Type = "crossmodal";
    public const string CacheKind = "wav2vec2-full";

    private readonly Wav2Vec2Model? _audioEncoder;
    private readonly Wav2Vec2FeatureExtractor _extractor;

    /// <param name="audioEncoder">The frozen wav2vec2 (required unless the mode is text-only); its hidden size must be the config's audio_dim.</param>
    public CrossModalClassifier(CrossModalEmotionModel model, Wav2Vec2Model? audioEncoder, Wav2Vec2FeatureExtractor? extractor = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = model;
        if (model.Config.UsesAudio)
        {
            if (audioEncoder is null) throw new ArgumentException("the cross-modal model uses audio but no wav2vec2 encoder was given (encoders.wav2vec2)", nameof(audioEncoder));
            if (audioEncoder.Config.HiddenSize != model.Config.AudioDim)
                throw new ArgumentException(
                    $"audio_dim is {model.Config.AudioDim} but the wav2vec2 encoder's hidden_size is {audioEncoder.Config.HiddenSize}", nameof(audioEncoder));
            foreach (var p in audioEncoder.parameters()) p.requires_grad = false;
            audioEncoder.eval();
            _audioEncoder = audioEncoder;
        }
        _extractor = extractor ?? new Wav2Vec2FeatureExtractor();
    }

    public CrossModalEmotionModel Model { get; }

    public string ModelType => Type;

    public nn.Module Module => Model;

    public IReadOnlyList<string> LabelNames => Model.Config.LabelNames;

    public JsonObject Config() => JsonNode.Parse(Model.Config.ToJson())!.AsObject();

    public IEnumerable<(string Name, Parameter Parameter)> TrainableParameters() =>
        Model.named_parameters().Where(p => p.parameter.requires_grad);

    public bool IsPretrained(string parameterName) => false;

    public IBatchCollator CreateCollator(FeatureCache? cache) => new Collator(this, cache);

    public ClassifierStep Forward(IClassifierBatch batch)
    {
        var input = batch as Batch ?? throw new ArgumentException("a cross-modal model takes the batches of its own collator", nameof(batch));
        var output = Model.forward(input.Input);
        var crossEntropy = nn.functional.cross_entropy(output.Logits, input.Labels);
        return new ClassifierStep(output.Probabilities, crossEntropy.alias(), crossEntropy, torch.zeros_like(crossEntropy));
    }

    public void Dispose()
    {
        Model.Dispose();
        _audioEncoder?.Dispose();
    }

    public void SaveCheckpoint(string folder, string modelVersion, JsonObject? training) =>
        ClassifierCheckpoint.Save(folder, Model, Type, Config(), LabelNames, modelVersion, training);

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
                var (frames, mask) = SequencePadding.Pad(items.Select(Frames).ToArray(), "wav2vec2 frames", config.AudioDim, _device);
                audio = new ModalitySequence(frames, mask);
            }
            if (config.UsesText)
                text = SequencePadding.Modality(items, i => i.Text, "text", config.TextDim, _device)
                       ?? throw new ArgumentException($"the cross-modal model uses text, but no item of the batch has text features (first: '{items[0].Id}')");
            return new Batch(new CrossModalInput(audio, text), SequencePadding.Labels(items, _device), items.Select(i => i.Id).ToArray());
        }

        private Tensor Frames(ITrainingItem item)
        {
            if (_cache is null) return Encode(item)["frames"];
            var cached = _cache.GetOrCompute(CacheKind, _encoderHash!, BatchCollator.AudioKey(item), () => Encode(item));
            return cached.TryGetValue("frames", out var frames)
                ? frames
                : throw new InvalidDataException($"feature cache entry of item '{item.Id}' has no 'frames' tensor");
        }

        private Dictionary<string, Tensor> Encode(ITrainingItem item)
        {
            Tensor values;
            try
            {
                values = _owner._extractor.Normalize(item.Audio);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"item '{item.Id}': {e.Message}", e);
            }
            using var noGrad = torch.no_grad();
            using var output = _owner._audioEncoder!.forward(values.to(_device));
            return new Dictionary<string, Tensor> { ["frames"] = output.LastHiddenState[0].cpu().contiguous() };
        }
    }
}
