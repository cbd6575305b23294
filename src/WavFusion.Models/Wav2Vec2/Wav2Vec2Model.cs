using TorchSharp;
using WavFusion.Core.Checkpoints;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Wav2Vec2;

/// <summary>
/// wav2vec 2.0 (HF <c>Wav2Vec2Model</c>): conv feature encoder → feature projection → positional conv →
/// transformer. <c>state_dict()</c> lists HF's keys without prefix, except that the positional conv holds
/// its folded plain weight (see <see cref="Wav2Vec2Checkpoint"/>).
/// </summary>
public sealed class Wav2Vec2Model : nn.Module
{
    public readonly Wav2Vec2FeatureEncoder feature_extractor;
    public readonly Wav2Vec2FeatureProjection feature_projection;
    public readonly Wav2Vec2Encoder encoder;

    public Wav2Vec2Config Config { get; }

    public FrameLinearPath FrameLinearPath { get; }

    /// <summary>Builds a randomly initialised model; <paramref name="device"/> may be <c>torch.META</c> to inspect the layout without allocating.</summary>
    /// <param name="frameLinear">How the per-frame linear layers run on the CPU (<see cref="FrameLinear"/>); a model's own
    /// choice, so sessions in one process may differ.</param>
    public Wav2Vec2Model(Wav2Vec2Config config, Device? device = null, FrameLinearPath frameLinear = FrameLinearPath.Auto)
        : base(nameof(Wav2Vec2Model))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        FrameLinearPath = frameLinear;
        feature_extractor = new Wav2Vec2FeatureEncoder(config, device);
        feature_projection = new Wav2Vec2FeatureProjection(config, device, frameLinear);
        encoder = new Wav2Vec2Encoder(config, device, frameLinear);
        RegisterComponents();
    }

    /// <summary>
    /// Loads a folder holding config.json and model.safetensors (or a sharded index, or pytorch_model.bin), or a weights file
    /// with config.json beside it. The model is returned in eval mode on the CPU unless <paramref name="device"/> says otherwise.
    /// </summary>
    public static Wav2Vec2Model FromPretrained(string folderOrFile, Device? device = null, FrameLinearPath frameLinear = FrameLinearPath.Auto)
    {
        var (configPath, weightsPath) = ResolveFiles(folderOrFile);
        var config = Wav2Vec2Config.Load(configPath);
        var model = ModuleLoading.BuildAndLoad(() => new Wav2Vec2Model(config, frameLinear: frameLinear), m =>
        {
            using var scope = torch.NewDisposeScope();
            m.Load(ReadWeights(weightsPath), weightsPath);
            if (device is not null) m.to(device);
        });
        model.eval();
        return model;
    }

    /// <summary>Builds a model from <paramref name="config"/> and loads public-checkpoint tensors into it (eval mode).</summary>
    public static Wav2Vec2Model FromStateDict(Wav2Vec2Config config, IReadOnlyDictionary<string, Tensor> source, string sourceName)
    {
        var model = ModuleLoading.BuildAndLoad(() => new Wav2Vec2Model(config), m => m.Load(source, sourceName));
        model.eval();
        return model;
    }

    /// <summary>
    /// Copies public-checkpoint tensors (any key naming <see cref="Wav2Vec2Checkpoint"/> accepts) into this model.
    /// Missing, unexpected and mis-shaped keys fail together, naming the keys, before anything is copied.
    /// </summary>
    public LoadReport Load(IReadOnlyDictionary<string, Tensor> source, string sourceName)
    {
        using var scope = torch.NewDisposeScope();
        return StateDictLoader.Load(this, Wav2Vec2Checkpoint.ToModuleKeys(source, sourceName), sourceName);
    }

    private static (string Config, string Weights) ResolveFiles(string folderOrFile)
    {
        if (Directory.Exists(folderOrFile))
        {
            string config = Path.Combine(folderOrFile, "config.json");
            if (!File.Exists(config)) throw new CheckpointException($"{folderOrFile}: no config.json in the model folder");
            return (config, CheckpointReader.ResolveWeights(folderOrFile));
        }
        if (File.Exists(folderOrFile))
        {
            string config = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(folderOrFile))!, "config.json");
            if (!File.Exists(config)) throw new CheckpointException($"{folderOrFile}: no config.json beside the weights file");
            return (config, folderOrFile);
        }
        throw new CheckpointException($"{folderOrFile}: no such model folder or file");
    }

    /// <summary>Any format <see cref="CheckpointReader"/> reads: safetensors (sharded too) or pytorch_model.bin.</summary>
    private static Dictionary<string, Tensor> ReadWeights(string path) => CheckpointReader.ReadStateDict(path);

    /// <summary>Raw samples (B, L) → conv features (B, frames, conv_dim[-1]).</summary>
    public Tensor ExtractFeatures(Tensor inputValues)
    {
        ValidateInput(inputValues);
        return feature_extractor.forward(inputValues);
    }

    /// <summary>
    /// Sample mask (B, L) (bool or 0/1, valid samples first) → frame mask (B, frames), True = valid frame,
    /// reducing each row's valid-sample count by the conv length formula; null stays null.
    /// </summary>
    public Tensor? FrameMask(Tensor? sampleMask)
    {
        if (sampleMask is null) return null;
        if (sampleMask.dim() != 2) throw new ArgumentException($"sample mask must be (batch, samples), got [{string.Join(", ", sampleMask.shape)}]", nameof(sampleMask));
        using var scope = torch.NewDisposeScope();
        var lengths = sampleMask.ne(Zero).sum(1, type: ScalarType.Int64);
        for (int i = 0; i < Config.ConvLayerCount; i++)
        {
            using var kernel = ((long)Config.ConvKernel[i]).ToScalar();
            using var stride = ((long)Config.ConvStride[i]).ToScalar();
            lengths = lengths.sub(kernel).div(stride, RoundingMode.floor).add(One, One);
        }
        int frames = Config.FrameCount(sampleMask.shape[1]);
        var positions = Arange(frames, ScalarType.Int64, sampleMask.device);
        return positions.unsqueeze(0).lt(lengths.unsqueeze(1)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Feature encoder → projection → positional conv (+ encoder LayerNorm for the post-LN family) → the first
    /// <paramref name="shallowLayers"/> transformer layers. (B, L) → (B, frames, hidden).
    /// </summary>
    public Tensor EncodeShallow(Tensor inputValues, Tensor? frameMask, int shallowLayers)
    {
        using var scope = torch.NewDisposeScope();
        var hidden = feature_projection.forward(ExtractFeatures(inputValues));
        CheckFrameMask(frameMask, hidden);
        var h = encoder.RunLayers(encoder.Embed(hidden, frameMask), frameMask, 0, shallowLayers);
        return h.MoveToOuterDisposeScope();
    }

    /// <summary>Full forward. <paramref name="sampleMask"/>: (B, L), True/1 = valid sample (pass one for the layer-norm family when padding).</summary>
    public Wav2Vec2Output forward(Tensor inputValues, Tensor? sampleMask = null)
    {
        if (sampleMask is not null && !sampleMask.shape.SequenceEqual(inputValues.shape))
            throw new ArgumentException($"sample mask shape [{string.Join(", ", sampleMask.shape)}] differs from input shape [{string.Join(", ", inputValues.shape)}]", nameof(sampleMask));
        using var scope = torch.NewDisposeScope();
        var features = ExtractFeatures(inputValues);
        var frameMask = FrameMask(sampleMask);
        var h = encoder.Embed(feature_projection.forward(features), frameMask);
        var layerOutputs = new List<Tensor>(encoder.layers.Count);
        h = encoder.RunLayers(h, frameMask, 0, encoder.layers.Count, layerOutputs);
        var last = encoder.FinalNorm(h);
        foreach (var t in layerOutputs) t.MoveToOuterDisposeScope();
        return new Wav2Vec2Output(features.MoveToOuterDisposeScope(), last.MoveToOuterDisposeScope(), layerOutputs)
        {
            FrameMask = frameMask?.MoveToOuterDisposeScope(),
        };
    }

    private void ValidateInput(Tensor inputValues)
    {
        ArgumentNullException.ThrowIfNull(inputValues);
        if (inputValues.dim() != 2)
            throw new ArgumentException($"input values must be (batch, samples), got [{string.Join(", ", inputValues.shape)}]", nameof(inputValues));
        if (!inputValues.is_floating_point())
            throw new ArgumentException($"input values must be floating point, got {inputValues.dtype}", nameof(inputValues));
        if (inputValues.shape[1] < Config.ReceptiveField)
            throw new ArgumentException($"input has {inputValues.shape[1]} samples; wav2vec2 needs at least {Config.ReceptiveField} ({Config.ReceptiveField * 1000.0 / Wav2Vec2Config.SamplingRate:0.#} ms at {Wav2Vec2Config.SamplingRate} Hz) for one frame", nameof(inputValues));
    }

    private static void CheckFrameMask(Tensor? frameMask, Tensor hidden)
    {
        if (frameMask is not null && (frameMask.dim() != 2 || frameMask.shape[0] != hidden.shape[0] || frameMask.shape[1] != hidden.shape[1]))
            throw new ArgumentException($"frame mask has shape [{string.Join(", ", frameMask.shape)}], expected [{hidden.shape[0]}, {hidden.shape[1]}]", nameof(frameMask));
    }
}
