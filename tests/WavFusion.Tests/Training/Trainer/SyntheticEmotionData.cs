using TorchSharp;
using WavFusion.Models.Fusion;
using WavFusion.Models.Wav2Vec2;
using WavFusion.Training.Trainer;

namespace WavFusion.Tests.Trainer;

/// <summary>A learnable toy task: the class sets the tone frequency of the audio and the mean of the text features.</summary>
internal static class SyntheticEmotionData
{
    public static readonly string[] Labels = ["calm", "tense", "glad"];

    public static WavFusionConfig TinyConfig() => new()
    {
        Wav2Vec2 = new Wav2Vec2Config
        {
            HiddenSize = 16, NumHiddenLayers = 3, NumAttentionHeads = 2, IntermediateSize = 32,
            ConvDim = [8, 8], ConvKernel = [10, 3], ConvStride = [5, 2], NumConvPosEmbeddings = 8, NumConvPosEmbeddingGroups = 2,
        },
        DeepLayers = 2, TextDim = 12, TextGruHidden = 4, TextHeads = 2,
        VisualDim = 10, VisualGruHidden = 3, VisualHeads = 2, LvcCodes = 3, LvcChannels = 8, LvcBottleneck = 4, LvcOutputDim = 4,
        MarginProjection = 6, LabelNames = Labels,
        // Resume must replay the uninterrupted run exactly; modality dropout draws from its own generator, which a checkpoint does not hold.
        ModalityDropout = 0,
    };

    public static TrainingSplits Splits(int trainPerClass = 8, int heldOutPerClass = 4, int seed = 3)
    {
        var random = new Random(seed);
        List<ITrainingItem> Make(string split, int perClass) =>
            Enumerable.Range(0, perClass * Labels.Length).Select(n => Item($"{split}-{n:D3}", n % Labels.Length, random)).ToList();
        return new TrainingSplits(Make("train", trainPerClass), Make("val", heldOutPerClass), Make("test", heldOutPerClass));
    }

    private static ITrainingItem Item(string id, int label, Random random)
    {
        double hz = 250 * (1 << label) * (0.9 + 0.2 * random.NextDouble());
        int length = 1600 + random.Next(800);
        double phase = random.NextDouble() * 2 * Math.PI;
        var audio = new float[length];
        for (int i = 0; i < length; i++)
            audio[i] = (float)(0.4 * Math.Sin(2 * Math.PI * hz * i / 16000 + phase) + 0.05 * (random.NextDouble() - 0.5));
        int tokens = 3 + random.Next(3);
        var text = new float[tokens * 12];
        for (int i = 0; i < text.Length; i++)
            text[i] = (float)((i % 12 / 4 == label ? 1.0 : 0.0) + 0.5 * (random.NextDouble() - 0.5));
        return new TrainingItem(id, label, audio, torch.tensor(text, [tokens, 12]));
    }
}
