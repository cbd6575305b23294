using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using WavFusion.Models.Layers;

namespace WavFusion.Models.CrossModal;

/// <summary>
/// Cross-modal wav2vec2 + BERT emotion model (Krishna D N, "Using Large Pre-Trained Models with
/// Cross-Modal Attention for Multi-Modal Emotion Recognition"): projected frame and token features,
/// audio attending to text and text attending to audio, statistics pooling (mean ⊕ standard deviation
/// over valid time) of each attended stream, early fusion by concatenation and an MLP classifier. The
/// unimodal baselines replace the cross-modal attention by the stream's self-attention.
/// </summary>
public sealed class CrossModalEmotionModel : nn.Module<CrossModalInput, CrossModalOutput>
{
    private readonly Linear? audio_projection;
    private readonly Linear? text_projection;
    private readonly CrossModalBlock? audio_attention;
    private readonly CrossModalBlock? text_attention;
    private readonly Sequential classifier;

    public CrossModalEmotionModel(CrossModalConfig config) : base(nameof(CrossModalEmotionModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        if (config.UsesAudio)
        {
            audio_projection = nn.Linear(config.AudioDim, config.ModelDim);
            audio_attention = new CrossModalBlock(config.ModelDim, config.NumHeads, config.Dropout);
        }
        if (config.UsesText)
        {
            text_projection = nn.Linear(config.TextDim, config.ModelDim);
            text_attention = new CrossModalBlock(config.ModelDim, config.NumHeads, config.Dropout);
        }
        var streams = (config.UsesAudio ? 1 : 0) + (config.UsesText ? 1 : 0);
        classifier = nn.Sequential(
            nn.Dropout(config.Dropout),
            nn.Linear(streams * 2L * config.ModelDim, config.ClassifierHidden),
            nn.ReLU(),
            nn.Dropout(config.Dropout),
            nn.Linear(config.ClassifierHidden, config.NumClasses));
        RegisterComponents();
    }

    public CrossModalConfig Config { get; }

    public override CrossModalOutput forward(CrossModalInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var scope = torch.NewDisposeScope();
        var audio = Project(audio_projection, input.Audio, "audio", Config.AudioDim);
        var text = Project(text_projection, input.Text, "text", Config.TextDim);

        var pooled = new List<Tensor>(2);
        if (audio is not null) pooled.Add(StatisticsPool(audio_attention!.call(audio, text ?? audio)));
        if (text is not null) pooled.Add(StatisticsPool(text_attention!.call(text, audio ?? text)));
        var fused = torch.cat(pooled, -1);
        var logits = classifier.call(fused);
        return new CrossModalOutput(
            logits.MoveToOuterDisposeScope(),
            torch.softmax(logits, -1).MoveToOuterDisposeScope(),
            fused.MoveToOuterDisposeScope());
    }

    private static Tensor StatisticsPool(ModalitySequence x) =>
        torch.cat(new[] { x.MeanOverValid(), SequenceOps.StdOverValid(x.Features, x.Mask) }, -1);

    private static ModalitySequence? Project(Linear? projection, ModalitySequence? stream, string name, int width)
    {
        if (projection is null) return null;
        if (stream is null)
            throw new ArgumentException($"this cross-modal model uses {name} features, but none were given", nameof(stream));
        if (stream.Width != width)
            throw new ArgumentException($"{name} features have width {stream.Width}; the model expects {width}", nameof(stream));
        return new ModalitySequence(projection.call(stream.Features), stream.Mask);
    }
}
