using TorchSharp;
using TorchSharp.Modules;
using WavFusion.Models.Fusion;
using WavFusion.Models.Text;
using WavFusion.Models.Vision;
using WavFusion.Models.Wav2Vec2;
using WavFusion.Models.Whisper;
using WavFusion.Training.Trainer;
using static TorchSharp.torch;

namespace WavFusion.StressRunner;

/// <summary>
/// The scenarios, by group. Each builds its model from a fixed seed and runs a few calls on seeded inputs, so both
/// passes of a scenario do the same arithmetic; calls are repeated so that a collection lands inside some of them.
/// </summary>
public static class Scenarios
{
    private const int Repeats = 3;

    public static IReadOnlyList<Scenario> All { get; } =
    [
        new("wavfusion-a", "wavfusion", "WavFusion at demo size, audio only, eval forwards", r => WavFusionForward(r, text: false, visual: false)),
        new("wavfusion-at", "wavfusion", "WavFusion at demo size, audio + text", r => WavFusionForward(r, text: true, visual: false)),
        new("wavfusion-av", "wavfusion", "WavFusion at demo size, audio + visual", r => WavFusionForward(r, text: false, visual: true)),
        new("wavfusion-avt", "wavfusion", "WavFusion at demo size, all three modalities", r => WavFusionForward(r, text: true, visual: true)),
        new("wav2vec2", "encoders", "wav2vec2 at the demo's size", Wav2Vec2Forward),
        new("roberta", "encoders", "a 2-layer, 128-wide RoBERTa over padded token batches", RobertaForward),
        new("efficientnet", "encoders", "EfficientNet-B0 at width 0.25 over 224x224 faces", EfficientNetForward),
        new("log-mel", "speech", "Whisper's log-mel spectrogram of 3 s", LogMel),
        new("whisper", "speech", "a small random Whisper: log-mel, encode, then greedy decode steps with the KV cache", Whisper),
        new("train-steps", "training", "WavFusion training steps: margin loss, backward, gradient clipping, HeldScalarAdamW", TrainSteps),
        new("adamw-steps", "training", "HeldScalarAdamW alone: 20 steps over 2M parameters in two groups, learning rate changing every step", r => OptimiserSteps(r, torchSharps: false)),
        new("canary-torchsharp-adamw", "canary", "the same steps with TorchSharp's AdamW, which makes about nine implicit Scalars per parameter per step", r => OptimiserSteps(r, torchSharps: true), IsCanary: true),
        new("canary-masked-fill", "canary", "masked_fill of 16M elements with an implicit double Scalar (issue 11's reproduction)", CanaryMaskedFill, IsCanary: true),
    ];

    private static string RepoRoot { get; } = FindRepoRoot();

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "WavFusion.Live.sln"))) return dir.FullName;
        throw new InvalidOperationException($"No WavFusion.Live.sln above {AppContext.BaseDirectory}");
    }

    private static WavFusionConfig DemoConfig() => WavFusionConfig.Load(Path.Combine(RepoRoot, "config", "wavfusion-demo.json"));

    private static void WavFusionForward(Recording r, bool text, bool visual)
    {
        var config = DemoConfig();
        torch.manual_seed(1);
        using var model = new WavFusionModel(config, modalityDropoutGenerator: new Generator(99));
        model.eval();
        using var noGrad = torch.no_grad();
        var random = new Random(2);
        var (audio, mask) = Inputs.Audio(random, 16000, 16000, 11000);
        var input = WavFusionInput.FromAudio(audio, mask,
            text ? Inputs.Sequence(random, config.TextDim, 12, 12, 7) : null,
            visual ? Inputs.Sequence(random, config.VisualDim, 5, 5, 3) : null);
        for (int i = 0; i < Repeats; i++)
        {
            using var output = model.call(input);
            r.Add($"logits #{i}", output.Logits);
            r.Add($"hidden #{i}", output.Hidden);
        }
    }

    private static void Wav2Vec2Forward(Recording r)
    {
        torch.manual_seed(3);
        using var model = new Wav2Vec2Model(DemoConfig().Audio);
        model.eval();
        using var noGrad = torch.no_grad();
        var (audio, mask) = Inputs.Audio(new Random(4), 24000, 24000, 15000);
        for (int i = 0; i < Repeats; i++)
        {
            using var output = model.forward(audio, mask);
            r.Add($"extract_features #{i}", output.ExtractFeatures);
            r.Add($"last_hidden_state #{i}", output.LastHiddenState);
        }
    }

    private static void RobertaForward(Recording r)
    {
        var config = new RobertaConfig
        {
            VocabSize = 1000, HiddenSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 4, IntermediateSize = 512, MaxPositionEmbeddings = 130,
        };
        torch.manual_seed(5);
        using var model = new RobertaModel(config);
        model.eval();
        using var noGrad = torch.no_grad();
        var random = new Random(6);
        int[] lengths = [40, 23, 9];
        const int T = 40;
        var ids = new long[lengths.Length * T];
        for (int b = 0; b < lengths.Length; b++)
            for (int t = 0; t < T; t++) ids[b * T + t] = t < lengths[b] ? random.Next(3, config.VocabSize) : config.PadTokenId;
        using var inputIds = torch.tensor(ids, [lengths.Length, T]);
        using var attention = Inputs.LengthMask(T, lengths).to(ScalarType.Int64);
        for (int i = 0; i < Repeats; i++)
        {
            using var hidden = model.forward(inputIds, attention);
            r.Add($"last_hidden_state #{i}", hidden);
        }
    }

    private static void EfficientNetForward(Recording r)
    {
        torch.manual_seed(7);
        using var model = new EfficientNetB0(numClasses: 5, widthMult: 0.25);
        model.eval();
        using var noGrad = torch.no_grad();
        using var faces = Inputs.Normal(new Random(8), 2, 3, 224, 224);
        for (int i = 0; i < Repeats; i++)
        {
            using var logits = model.forward(faces);
            using var pooled = model.PooledInference(faces);
            r.Add($"logits #{i}", logits);
            r.Add($"pooled #{i}", pooled);
        }
    }

    private static void LogMel(Recording r)
    {
        using var mel = new LogMelSpectrogram(80);
        var audio = Inputs.Speechlike(new Random(9), 3 * 16000);
        // One spectrogram takes a few milliseconds; the hammer needs many calls to land inside some.
        for (int i = 0; i < 10 * Repeats; i++)
        {
            using var features = mel.Compute(audio, paddingSamples: 8000);
            r.Add($"log-mel #{i}", features);
        }
    }

    private static void Whisper(Recording r)
    {
        var config = new WhisperConfig
        {
            NumMelBins = 80, MaxSourcePositions = 150, DModel = 128,
            EncoderAttentionHeads = 4, EncoderLayers = 2, EncoderFfnDim = 256,
            DecoderAttentionHeads = 4, DecoderLayers = 2, DecoderFfnDim = 256, MaxTargetPositions = 32,
        };
        torch.manual_seed(10);
        using var model = new WhisperForConditionalGeneration(config);
        model.eval();
        using var mel = new LogMelSpectrogram(config.NumMelBins);
        using var noGrad = torch.no_grad();
        using var features = mel.Compute(Inputs.Speechlike(new Random(11), 3 * 16000));
        using var window = LogMelSpectrogram.PadOrTrim(features, 2L * config.MaxSourcePositions).unsqueeze(0);
        for (int i = 0; i < Repeats; i++)
        {
            using var scope = torch.NewDisposeScope();
            var audio = model.Encode(window);
            r.Add($"encoder #{i}", audio);
            using var cache = model.CreateCache(audio);
            var tokens = torch.tensor(new long[] { 50258, 50259, 50359 }, [1, 3]);
            for (int step = 0; step < 5; step++)
            {
                var logits = model.Decode(tokens, cache);
                r.Add($"logits #{i}.{step}", logits);
                tokens = logits.select(1, -1).argmax(-1).reshape(1, 1);
                r.Add($"token #{i}.{step}", tokens);
            }
        }
    }

    private static void TrainSteps(Recording r)
    {
        var config = DemoConfig() with
        {
            Wav2Vec2 = new Wav2Vec2Config
            {
                HiddenSize = 64, NumHiddenLayers = 3, NumAttentionHeads = 4, IntermediateSize = 128,
                ConvDim = [32, 32, 32], ConvKernel = [10, 3, 3], ConvStride = [5, 2, 2], NumConvPosEmbeddings = 16, NumConvPosEmbeddingGroups = 4,
            },
            TextDim = 32, VisualDim = 40, TextGruHidden = 16, VisualGruHidden = 8, LvcCodes = 4, LvcChannels = 16, LvcBottleneck = 8, LvcOutputDim = 8,
            MarginProjection = 16,
        };
        torch.manual_seed(12);
        using var model = new WavFusionModel(config, modalityDropoutGenerator: new Generator(13));
        model.train();
        var trainable = model.TrainableParameters().Select(p => p.Parameter).ToArray();
        using var optimizer = new HeldScalarAdamW(
        [
            new HeldScalarAdamW.Group(trainable.Where(p => p.dim() > 1), 3e-3, weightDecay: 0.01),
            new HeldScalarAdamW.Group(trainable.Where(p => p.dim() <= 1), 3e-3),
        ]);
        var random = new Random(14);
        var (audio, mask) = Inputs.Audio(random, 8000, 8000, 6000, 4000, 7000);
        var text = Inputs.Sequence(random, config.TextDim, 8, 8, 5, 3, 1);
        var visual = Inputs.Sequence(random, config.VisualDim, 4, 4, 2, 3, 4);
        using var labels = torch.tensor(new long[] { 0, 1, 2, 1 });
        const int Steps = 6;
        for (int step = 0; step < Steps; step++)
        {
            using var scope = torch.NewDisposeScope();
            foreach (var g in optimizer.Groups) g.LearningRate = 3e-3 * (step + 1) / Steps;
            optimizer.ZeroGrad();
            using var output = model.call(WavFusionInput.FromAudio(audio, mask, text, visual));
            using var loss = model.Loss(output, labels);
            loss.Total.backward();
            r.Add($"gradient norm #{step}", torch.nn.utils.clip_grad_norm_(trainable, 1.0));
            optimizer.Step();
            r.Add($"loss #{step}", loss.Total);
            r.Add($"cross-entropy #{step}", loss.CrossEntropy);
            r.Add($"margin #{step}", loss.Margin);
        }
        foreach (var (name, p) in model.TrainableParameters()) r.Add(name, p);
    }

    private static void OptimiserSteps(Recording r, bool torchSharps)
    {
        var random = new Random(15);
        Parameter[] matrices = [new(Inputs.Normal(random, 1024, 1024)), new(Inputs.Normal(random, 512, 1024))];
        Parameter[] vectors = [new(Inputs.Normal(random, 1024)), new(Inputs.Normal(random, 512))];
        var all = matrices.Concat(vectors).ToArray();
        foreach (var p in all) p.grad = Inputs.Normal(random, p.shape);
        using var ours = new HeldScalarAdamW([new HeldScalarAdamW.Group(matrices, 1e-3, weightDecay: 0.05), new HeldScalarAdamW.Group(vectors, 1e-3)]);
        using var theirs = new AdamW([new AdamW.ParamGroup(matrices, 1e-3, weight_decay: 0.05), new AdamW.ParamGroup(vectors, 1e-3)]);
        for (int step = 0; step < 20; step++)
        {
            double lr = 1e-3 * (step + 1) / 20;
            if (torchSharps)
            {
                foreach (var g in theirs.ParamGroups) g.LearningRate = lr;
                theirs.step();
            }
            else
            {
                foreach (var g in ours.Groups) g.LearningRate = lr;
                ours.Step();
            }
        }
        for (int i = 0; i < all.Length; i++) r.Add($"parameter {i}", all[i]);
    }

    private static void CanaryMaskedFill(Recording r)
    {
        using var big = torch.zeros(4096, 4096);
        using var mask = torch.ones([4096, 4096], ScalarType.Bool);
        for (int i = 0; i < 40; i++)
        {
            // The deliberate bug: 1.5 becomes a temporary Scalar that nothing holds while libtorch copies 64 MB.
            using var filled = big.masked_fill(mask, 1.5);
            using var first = filled.select(0, 0).select(0, 0);
            using var last = filled.select(0, 4095).select(0, 4095);
            r.Add($"filled[0, 0] #{i}", first);
            r.Add($"filled[4095, 4095] #{i}", last);
        }
    }
}
