using TorchSharp;
using TorchSharp.Modules;
using WavFusion.Core.Checkpoints;
using static TorchSharp.torch;

namespace WavFusion.Models.Vision;

/// <summary>
/// torchvision's <c>efficientnet_b0</c> under its key names: <c>features.0</c> stem, <c>features.1..7</c> MBConv
/// stages built from <see cref="EfficientNetStage.B0"/>, <c>features.8</c> 1×1 head to 1280 channels, then global
/// average pooling and <c>classifier</c> = [Dropout, Linear]. BatchNorm uses its running statistics in eval mode,
/// which is how WavFusion runs it: the backbone is frozen, so <see cref="FromCheckpoint"/> returns it in eval mode.
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

    public EfficientNetB0(int numClasses = 1000) : base(nameof(EfficientNetB0))
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numClasses);
        NumClasses = numClasses;
        var stages = EfficientNetStage.B0;

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
        features.append(new Conv2dNormActivation(stages[^1].OutChannels, FeatureChannels, 1));

        classifier = nn.Sequential(nn.Dropout(DropoutProbability), nn.Linear(FeatureChannels, numClasses));
        RegisterComponents();
    }

    /// <summary>The last feature map (B, 1280, H/32, W/32) for ImageNet-normalised pixels (B, 3, H, W).</summary>
    public Tensor Features(Tensor pixelValues)
    {
        CheckPixels(pixelValues);
        using var scope = torch.NewDisposeScope();
        return features.call(pixelValues).MoveToOuterDisposeScope();
    }

    /// <summary>Globally average-pooled features (B, 1280), the embedding WavFusion's visual branch consumes.</summary>
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
    /// <c>source</c> and <c>num_classes</c>) or a .safetensors file. Keys in torchvision or timm naming are
    /// accepted (told apart by the keys; <paramref name="naming"/> or the config's source, when given, must
    /// agree); <c>num_batches_tracked</c> is optional; the class count comes from the classifier's weight.
    /// </summary>
    public static EfficientNetB0 FromCheckpoint(string folderOrFile, EfficientNetKeyNaming? naming = null)
    {
        var (weights, config) = ResolveFiles(folderOrFile);
        Dictionary<string, Tensor> raw;
        using (var file = SafeTensorsFile.Open(weights)) raw = file.ReadAll();
        try
        {
            var detected = EfficientNetKeyMap.Detect(raw.Keys, weights);
            var declared = naming ?? config?.Naming(folderOrFile);
            if (declared is { } d && d != detected)
                throw new CheckpointException($"{weights}: expected {d} key names but the checkpoint uses {detected} names");
            var state = detected == EfficientNetKeyNaming.Timm ? EfficientNetKeyMap.FromTimm(raw, weights) : raw;

            if (!state.TryGetValue(ClassifierWeightKey, out var head) || head.dim() != 2 || head.shape[1] != FeatureChannels)
                throw new CheckpointException($"{weights}: no classifier weight ({ClassifierWeightKey} / timm classifier.weight) of shape [num_classes, {FeatureChannels}]");
            int numClasses = checked((int)head.shape[0]);
            if (config?.NumClasses is { } n && n != numClasses)
                throw new CheckpointException($"{weights}: config.json says num_classes {n} but the classifier has {numClasses} rows");

            var model = new EfficientNetB0(numClasses);
            try
            {
                StateDictLoader.Load(model, state, weights);
            }
            catch
            {
                model.Dispose();
                throw;
            }
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
            string weights = Path.Combine(folderOrFile, "model.safetensors");
            if (!File.Exists(weights))
                throw new CheckpointException($"{folderOrFile}: no model.safetensors (.pth pickle checkpoints are not read; convert them to safetensors)");
            string config = Path.Combine(folderOrFile, "config.json");
            return (weights, File.Exists(config) ? EfficientNetConfig.Load(config) : null);
        }
        if (File.Exists(folderOrFile))
        {
            if (!folderOrFile.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
                throw new CheckpointException($"{folderOrFile}: not a .safetensors file (.pth pickle checkpoints are not read)");
            return (folderOrFile, null);
        }
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
