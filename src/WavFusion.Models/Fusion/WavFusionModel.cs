using System.Globalization;
using TorchSharp;
using TorchSharp.Modules;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.Wav2Vec2;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;
using WavFusion.Models.Layers;
using WavFusion.Models.Branches;

namespace WavFusion.Models.Fusion;

/// <summary>
/// WavFusion (Li, Luo, Xia): wav2vec 2.0 whose last D layers attend to text and visual streams through gated
/// cross-modal attention. The CNN feature encoder and the first L − D layers are frozen (no gradient, always
/// in eval mode, so their output can be cached); the deep layers, the text branch, the A-GRU-LVC visual block,
/// the cross-modal attention, the classifier and the margin-loss encoder train. A deep layer uses its
/// original self-attention for samples with neither auxiliary stream, so one checkpoint serves every subset.
/// Keys: <c>wav2vec2.*</c> (the public checkpoint's layout), <c>cross_attention.{layer}.*</c>, <c>text_branch.*</c>,
/// <c>visual_branch.*</c>, <c>classifier.*</c>, <c>margin.*</c>.
/// </summary>
public sealed class WavFusionModel : nn.Module<WavFusionInput, WavFusionOutput>
{
    private readonly Wav2Vec2Model wav2vec2;
    private readonly ModuleDict<GatedCrossModalAttention>? cross_attention;
    private readonly TextBranch text_branch;
    private readonly AGruLvc visual_branch;
    private readonly Linear classifier;
    private readonly MarginLoss margin;
    private readonly ModalityDropout? _modalityDropout;
    private readonly Scalar _marginLambda; // held for the module's lifetime and disposed with it

    /// <param name="config">Validated on construction.</param>
    /// <param name="device">Where parameters live; <c>torch.META</c> inspects the layout without allocating.</param>
    /// <param name="modalityDropoutGenerator">Source of the training-time modality drops; by default one seeded
    /// from torch's global generator, so <c>torch.manual_seed</c> makes a run reproducible.</param>
    /// <param name="frameLinear">How wav2vec2's per-frame linear layers run on the CPU (<see cref="FrameLinear"/>).</param>
    public WavFusionModel(WavFusionConfig config, Device? device = null, Generator? modalityDropoutGenerator = null,
        FrameLinearPath frameLinear = FrameLinearPath.Auto)
        : base(nameof(WavFusionModel))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        var audio = config.Audio;
        wav2vec2 = new Wav2Vec2Model(audio, device, frameLinear);
        if (config.Fusion == FusionKind.Gated)
        {
            cross_attention = new ModuleDict<GatedCrossModalAttention>();
            foreach (var i in DeepLayerIndices)
                cross_attention.Add(i.ToString(CultureInfo.InvariantCulture), new GatedCrossModalAttention(
                    audio.HiddenSize, config.TextWidth, config.VisualWidth, config.EffectiveCrossAttentionHeads, config.CrossAttentionDropout, device));
        }
        text_branch = new TextBranch(config.TextDim, config.TextGruHidden, config.TextHeads, config.BranchDropout, device);
        visual_branch = new AGruLvc(config.VisualOptions, device);
        var classifierWidth = audio.HiddenSize + (config.Fusion == FusionKind.Concat ? config.TextWidth + config.VisualWidth : 0);
        classifier = nn.Linear(classifierWidth, config.NumClasses, device: device);
        margin = new MarginLoss(audio.HiddenSize, config.TextWidth, config.VisualWidth, audio.HiddenSize,
            config.MarginProjection, config.MarginAlpha, device);
        if (config.ModalityDropout > 0)
            _modalityDropout = new ModalityDropout(config.ModalityDropout,
                modalityDropoutGenerator ?? new Generator((ulong)torch.randint(long.MaxValue, [1], dtype: ScalarType.Int64).item<long>()));
        _marginLambda = config.MarginLambda.ToScalar();
        RegisterComponents();
        InitialiseCrossAttention();
        foreach (var (name, p) in wav2vec2.named_parameters())
            if (!IsTrainableAudioParameter(name)) p.requires_grad = false;
        train(false);
    }

    public WavFusionConfig Config { get; }

    public int ShallowLayers => Config.ShallowLayers;

    public IEnumerable<int> DeepLayerIndices => Enumerable.Range(Config.ShallowLayers, Config.DeepLayers);

    /// <summary>What an optimiser should update: everything except the frozen wav2vec2 encoder and shallow layers.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> TrainableParameters() =>
        named_parameters().Where(p => p.parameter.requires_grad);

    /// <summary>Fills the wav2vec2 part from a public checkpoint (folder or weights file, see <see cref="Wav2Vec2Model.FromPretrained"/>).</summary>
    public LoadReport LoadPretrainedAudio(string folderOrFile)
    {
        using var pretrained = Wav2Vec2Model.FromPretrained(folderOrFile);
        return LoadPretrainedAudio(pretrained, folderOrFile);
    }

    /// <summary>
    /// Copies a loaded wav2vec2 into the audio part (strict: every key, same shapes) and restarts the gated
    /// attention's query/output projections from the pretrained layers.
    /// </summary>
    public LoadReport LoadPretrainedAudio(Wav2Vec2Model pretrained, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(pretrained);
        var theirs = pretrained.Config;
        var ours = Config.Audio;
        if (theirs.HiddenSize != ours.HiddenSize || theirs.NumHiddenLayers != ours.NumHiddenLayers || theirs.DoStableLayerNorm != ours.DoStableLayerNorm)
            throw new CheckpointException(
                $"{sourceName}: wav2vec2 checkpoint (hidden_size {theirs.HiddenSize}, num_hidden_layers {theirs.NumHiddenLayers}, " +
                $"do_stable_layer_norm {theirs.DoStableLayerNorm}) does not match the WavFusion config (hidden_size {ours.HiddenSize}, " +
                $"num_hidden_layers {ours.NumHiddenLayers}, do_stable_layer_norm {ours.DoStableLayerNorm})");
        using var scope = torch.NewDisposeScope();
        var report = StateDictLoader.Load(wav2vec2, pretrained.state_dict(), sourceName);
        InitialiseCrossAttention();
        return report;
    }

    /// <summary>Frozen wav2vec2 CNN + shallow layers, without gradient: the input of the deep layers and of the feature cache.</summary>
    public ShallowAudio EncodeShallow(Tensor inputValues, Tensor? sampleMask = null)
    {
        ArgumentNullException.ThrowIfNull(inputValues);
        if (inputValues.dim() != 2)
            throw new ArgumentException($"input values must be (batch, samples); got [{string.Join(", ", inputValues.shape)}]", nameof(inputValues));
        if (sampleMask is not null && !sampleMask.shape.SequenceEqual(inputValues.shape))
            throw new ArgumentException(
                $"sample mask [{string.Join(", ", sampleMask.shape)}] does not match input values [{string.Join(", ", inputValues.shape)}]", nameof(sampleMask));
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var frameMask = wav2vec2.FrameMask(sampleMask);
        var hidden = wav2vec2.EncodeShallow(inputValues, frameMask, ShallowLayers);
        return new ShallowAudio(hidden.MoveToOuterDisposeScope(), frameMask?.MoveToOuterDisposeScope());
    }

    public override WavFusionOutput forward(WavFusionInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var scope = torch.NewDisposeScope();
        var shallow = ResolveAudio(input);
        var b = shallow.Hidden.shape[0];
        var frames = shallow.Hidden.shape[1];
        var keyMask = shallow.FrameMask;
        // A cached mask belongs to the caller: the output gets its own handle, so disposing one leaves the other.
        var frameMask = keyMask?.alias() ?? torch.ones(b, frames, dtype: ScalarType.Bool, device: shallow.Hidden.device);

        var auxiliary = new AuxiliaryModalities(
            Checked(input.Text, "text", Config.TextDim, b), Checked(input.Visual, "visual", Config.VisualDim, b));
        if (training && _modalityDropout is not null) auxiliary = _modalityDropout.Apply(auxiliary);
        var text = auxiliary.Text is null ? null : text_branch.call(auxiliary.Text);
        var visual = auxiliary.Visual is null ? null : visual_branch.call(auxiliary.Visual);
        var encoded = new AuxiliaryModalities(text, visual);

        var h = shallow.Hidden;
        var layers = wav2vec2.encoder.layers;
        foreach (var i in DeepLayerIndices)
        {
            var layer = layers[i];
            if (cross_attention is not null && (text is not null || visual is not null))
            {
                var gated = cross_attention[i.ToString(CultureInfo.InvariantCulture)];
                Func<Tensor, Tensor> selfAttention = x => layer.attention.forward(x, keyMask);
                h = layer.ForwardWith(h, x => gated.call(x, encoded, selfAttention));
            }
            else
            {
                h = layer.call(h, keyMask);
            }
        }
        h = wav2vec2.encoder.FinalNorm(h);

        var pooled = SequenceOps.MeanOverValid(h, frameMask);
        var textVector = text?.MeanOverValid();
        var visualVector = visual?.MeanOverValid();
        if (Config.Fusion == FusionKind.Concat)
            pooled = torch.cat(new[]
            {
                pooled,
                textVector ?? torch.zeros(b, Config.TextWidth, dtype: pooled.dtype, device: pooled.device),
                visualVector ?? torch.zeros(b, Config.VisualWidth, dtype: pooled.dtype, device: pooled.device),
            }, -1);
        var logits = classifier.call(nn.functional.dropout(pooled, Config.ClassifierDropout, training));

        var utterances = new UtteranceVectors(
            SequenceOps.MeanOverValid(shallow.Hidden, frameMask).MoveToOuterDisposeScope(),
            textVector?.MoveToOuterDisposeScope(), text?.Present().MoveToOuterDisposeScope(),
            visualVector?.MoveToOuterDisposeScope(), visual?.Present().MoveToOuterDisposeScope());
        return new WavFusionOutput(
            logits.MoveToOuterDisposeScope(), torch.softmax(logits, -1).MoveToOuterDisposeScope(), utterances,
            h.MoveToOuterDisposeScope(), frameMask.MoveToOuterDisposeScope());
    }

    /// <summary>CE + λ·margin loss for <paramref name="labels"/> (B) int64.</summary>
    public WavFusionLoss Loss(WavFusionOutput output, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(labels);
        using var scope = torch.NewDisposeScope();
        var crossEntropy = nn.functional.cross_entropy(output.Logits, labels);
        var marginTerm = Config.MarginLambda > 0 ? margin.call(output.Utterances, labels) : torch.zeros_like(crossEntropy);
        var total = crossEntropy.add(marginTerm.mul(_marginLambda), One);
        return new WavFusionLoss(total.MoveToOuterDisposeScope(), crossEntropy.MoveToOuterDisposeScope(), marginTerm.MoveToOuterDisposeScope());
    }

    /// <summary>Training mode for the trainable parts only: the frozen wav2vec2 parts stay in eval mode (no dropout, no
    /// LayerDrop), so their output matches the feature cache.</summary>
    public override void train(bool train = true)
    {
        base.train(train);
        wav2vec2.eval();
        if (!train) return;
        foreach (var i in DeepLayerIndices) wav2vec2.encoder.layers[i].train(true);
    }

    private bool IsTrainableAudioParameter(string name) =>
        DeepLayerIndices.Any(i => name.StartsWith($"encoder.layers.{i}.", StringComparison.Ordinal));

    private void InitialiseCrossAttention()
    {
        if (cross_attention is null) return;
        foreach (var i in DeepLayerIndices)
            cross_attention[i.ToString(CultureInfo.InvariantCulture)].InitialiseFrom(wav2vec2.encoder.layers[i].attention);
    }

    private ShallowAudio ResolveAudio(WavFusionInput input)
    {
        if ((input.InputValues is null) == (input.Shallow is null))
            throw new ArgumentException("a WavFusion input needs exactly one of input values (raw audio) and cached shallow audio", nameof(input));
        if (input.InputValues is not null) return EncodeShallow(input.InputValues, input.SampleMask);
        var shallow = input.Shallow!;
        var hidden = Config.Audio.HiddenSize;
        if (shallow.Hidden.dim() != 3 || shallow.Hidden.shape[2] != hidden)
            throw new ArgumentException(
                $"cached shallow audio must be (batch, frames, {hidden}); got [{string.Join(", ", shallow.Hidden.shape)}]", nameof(input));
        if (shallow.FrameMask is not null && !shallow.FrameMask.shape.SequenceEqual(shallow.Hidden.shape.Take(2)))
            throw new ArgumentException(
                $"cached frame mask [{string.Join(", ", shallow.FrameMask.shape)}] does not match shallow audio [{string.Join(", ", shallow.Hidden.shape)}]", nameof(input));
        return shallow;
    }

    private static ModalitySequence? Checked(ModalitySequence? stream, string name, int width, long batch)
    {
        if (stream is null) return null;
        if (stream.Width != width)
            throw new ArgumentException($"{name} features have width {stream.Width}; the model expects {width}", nameof(stream));
        if (stream.Batch != batch)
            throw new ArgumentException($"{name} features have batch {stream.Batch}; the audio has {batch}", nameof(stream));
        return stream;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _marginLambda.Dispose();
        base.Dispose(disposing);
    }
}
