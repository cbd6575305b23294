using TorchSharp;
using TorchSharp.Modules;
using WavFusion.Core.Checkpoints;
using static TorchSharp.torch;

namespace WavFusion.Models.Vision;

/// <summary>
/// torchvision's <c>efficientnet_b0</c> under its key names: <c>features.0</c> stem, <c>features.1..7</c> MBConv
/// stages built from <see cref="EfficientNetStage.B0"/>, <c>features.8</c> 1×1 head to 1280 channels, then global
/// average pooling and <c>classifier</c> = [Dropout, Linear]. Width and depth multipliers other than 1.0 build the
/// same layout scaled by torchvision's rules (<see cref="EfficientNetStage.Scaled"/>; the head is 4 × the last
/// stage's width, as torchvision's B-family sets it), e.g. a small frozen encoder with B0's key names.
/// BatchNorm uses its running statistics in eval mode, which is how WavFusion runs it: the backbone is frozen,
/// so <see cref="FromCheckpoint"/> returns it in eval mode.
/// </summary>
public sealed class EfficientNetB0 : nn.Module<Tensor, Tensor>
{
    public const int FeatureChannels = 1280;
    public const double StochasticDepthProbability = 0.2;
    public const double DropoutProbability = 0.2;
    public const string ClassifierWeightKey = "classifier.1.weight";

    public readonly Sequential features;
    public readonly Sequential classifier;

    public int NumClasses { get; }

    /// <summary>Width of the head and of <see cref="Pooled"/>: <see cref="FeatureChannels"/> for B0.</summary>
    public int HeadChannels { get; }

    public EfficientNetB0(int numClasses = 1000, double widthMult = 1.0, double depthMult = 1.0) : base(nameof(EfficientNetB0))
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numClasses);
        NumClasses = numClasses;
        var stages = EfficientNetStage.Scaled(widthMult, depthMult);
        HeadChannels = 4 * stages[^1].OutChannels;

        features = nn.Sequential();
        features.append(new Conv2dNormActivation(3, stages[0].InChannels, 3, stride: 2));
        // torchvision raises the drop probability linearly over all blocks of the network, 0 for the first.
        int totalBlocks = stages.Sum(s => s.Repeats), blockId = 0;
        foreach (var stage in stages)
        {
            var blocks = nn.Sequential();
            for (int i = 0; i < stage.Repeats; i++, blockId++)
                blocks.append(new MBConv(stage, i == 0, StochasticDepthProbability * blockId / totalBlocks));
            features.append(blocks);
        }
        features.append(new Conv2dNormActivation(stages[^1].OutChannels, HeadChannels, 1));

        classifier = nn.Sequential(nn.Dropout(DropoutProbability), nn.Linear(HeadChannels, numClasses));
        RegisterComponents();
    }

    /// <summary>The last feature map (B, <see cref="HeadChannels"/>, H/32, W/32) for ImageNet-normalised pixels (B, 3, H, W).</summary>
    public Tensor Features(Tensor pixelValues)
    {
        CheckPixels(pixelValues);
        using var scope = torch.NewDisposeScope();
        return features.call(pixelValues).MoveToOuterDisposeScope();
    }

    /// <summary>Globally average-pooled features (B, <see cref="HeadChannels"/>), the embedding WavFusion's visual branch consumes.</summary>
    public Tensor Pooled(Tensor pixelValues)
    {
        using var scope = torch.NewDisposeScope();
        return Features(pixelValues).mean([2, 3]).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <see cref="Pooled"/> for the frozen backbone on the live path: no autograd bookkeeping
    /// (inference mode), and the (small) result is cloned out of inference mode so a trainable head
    /// may still use it. The model must be in eval mode.
    /// </summary>
    public Tensor PooledInference(Tensor pixelValues)
    {
        if (training)
            throw new InvalidOperationException("PooledInference runs the frozen backbone; call eval() first (training mode would update BatchNorm statistics)");
        using var scope = torch.NewDisposeScope();
        Tensor pooled;
        using (torch.inference_mode()) pooled = Pooled(pixelValues);
        return pooled.clone().MoveToOuterDisposeScope();
    }

    /// <summary>Class logits (B, num_classes).</summary>
    public override Tensor forward(Tensor pixelValues)
    {
        using var scope = torch.NewDisposeScope();
        return classifier.call(Pooled(pixelValues)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Loads <c>model.safetensors</c> from a folder (with an optional <c>config.json</c> naming its
    /// <c>source</c>, <c>num_classes</c> and optional <c>width_mult</c> / <c>depth_mult</c>), a torchvision .pth or
    /// any file <see cref="CheckpointReader"/> reads. Keys in torchvision or timm naming are
    /// accepted (told apart by the keys; <paramref name="naming"/> or the config's source, when given, must
    /// agree); <c>num_batches_tracked</c> is optional; the class count comes from the classifier's weight.
    /// </summary>
    public static EfficientNetB0 FromCheckpoint(string folderOrFile, EfficientNetKeyNaming? naming = null)
    {
        var (weights, config) = ResolveFiles(folderOrFile);
        Dictionary<string, Tensor> raw;
        raw = CheckpointReader.ReadStateDict(weights);
        try
        {
            var detected = EfficientNetKeyMap.Detect(raw.Keys, weights);
            var declared = naming ?? config?.Naming(folderOrFile);
            if (declared is { } d && d != detected)
                throw new CheckpointException($"{weights}: expected {d} key names but the checkpoint uses {detected} names");
            var state = detected == EfficientNetKeyNaming.Timm ? EfficientNetKeyMap.FromTimm(raw, weights) : raw;

            double width = config?.WidthMult ?? 1.0, depth = config?.DepthMult ?? 1.0;
            int headChannels = 4 * EfficientNetStage.Scaled(width, depth)[^1].OutChannels;
            if (!state.TryGetValue(ClassifierWeightKey, out var head) || head.dim() != 2 || head.shape[1] != headChannels)
                throw new CheckpointException($"{weights}: no classifier weight ({ClassifierWeightKey} / timm classifier.weight) of shape [num_classes, {headChannels}]"
                    + (width == 1.0 ? "" : $" (width_mult {width})"));
            int numClasses = checked((int)head.shape[0]);
            if (config?.NumClasses is { } n && n != numClasses)
                throw new CheckpointException($"{weights}: config.json says num_classes {n} but the classifier has {numClasses} rows");

            var model = ModuleLoading.BuildAndLoad(() => new EfficientNetB0(numClasses, width, depth), m => StateDictLoader.Load(m, state, weights));
            model.eval();
            return model;
        }
        finally
        {
            foreach (var t in raw.Values) t.Dispose();
        }
    }

    private static (string Weights, EfficientNetConfig? Config) ResolveFiles(string folderOrFile)
    {
        if (Directory.Exists(folderOrFile))
        {
            // torchvision publishes a bare .pth (efficientnet_b0_rwightman-3dd342df.pth); accept one in the folder.
            var pth = Directory.GetFiles(folderOrFile, "*.pth");
            string weights = !File.Exists(Path.Combine(folderOrFile, "model.safetensors")) && pth.Length == 1
                ? pth[0]
                : CheckpointReader.ResolveWeights(folderOrFile);
            string config = Path.Combine(folderOrFile, "config.json");
            return (weights, File.Exists(config) ? EfficientNetConfig.Load(config) : null);
        }
        if (File.Exists(folderOrFile)) return (folderOrFile, null);
        throw new CheckpointException($"{folderOrFile}: no such folder or file");
    }

    private static void CheckPixels(Tensor pixelValues)
    {
        if (pixelValues.dim() != 4 || pixelValues.shape[1] != 3)
            throw new ArgumentException($"pixel values must be (batch, 3, height, width), got [{string.Join(", ", pixelValues.shape)}]", nameof(pixelValues));
        if (!pixelValues.is_floating_point())
            throw new ArgumentException($"pixel values must be floating point (ImageNet-normalised), got {pixelValues.dtype}", nameof(pixelValues));
    }
}
