using TorchSharp;
using TorchSharp.Modules;
using WavFusion.Models.CrossModal;
using WavFusion.Models.Unimodal;
using WavFusion.Models.Wav2Vec2;
using WavFusion.Tests.Fusion;
using WavFusion.Tests.Infrastructure;
using WavFusion.Tests.Trainer;
using WavFusion.Training.Cache;
using WavFusion.Training.Classifiers;
using WavFusion.Training.Trainer;

namespace WavFusion.Tests.Experiments;

[Collection(SeededTorchCollection.Name)]
public sealed class ClassifierAdapterTests
{
    private static readonly string[] Labels = SyntheticEmotionData.Labels;

    public static TheoryData<string> Kinds() => ["text", "visual", "crossmodal-audio_text", "crossmodal-audio", "crossmodal-text"];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void An_adapter_trains_a_step_with_a_finite_loss_and_gradients_on_every_parameter(string kind)
    {
        torch.manual_seed(21);
        using var dir = new TempDir();
        var (classifier, items) = Build(kind);
        using var owned = classifier;
        var cache = new FeatureCache(dir.File("cache"));
        var collator = classifier.CreateCollator(cache);
        var parameters = classifier.TrainableParameters().ToArray();
        Assert.NotEmpty(parameters);
        Assert.All(parameters, p => Assert.False(classifier.IsPretrained(p.Name)));
        using var optimizer = torch.optim.AdamW(parameters.Select(p => p.Parameter), 1e-2);

        classifier.Module.train();
        double first;
        using (var scope = torch.NewDisposeScope())
        {
            var batch = collator.Collate(items);
            Assert.Equal(items.Select(i => i.Id), batch.Ids);
            optimizer.zero_grad();
            using var step = classifier.Forward(batch);
            first = step.Total.item<float>();
            Assert.True(double.IsFinite(first), $"loss {first}");
            Assert.Equal([items.Length, Labels.Length], step.Probabilities.shape);
            step.Total.backward();
            foreach (var (name, p) in parameters)
            {
                Assert.True(p.grad is not null, $"{kind}: {name} got no gradient");
                Assert.True(p.grad!.abs().sum().item<float>() > 0, $"{kind}: {name} has an all-zero gradient");
            }
            optimizer.step();
        }

        // A few more steps on the same batch lower the loss: the gradients point somewhere useful.
        double last = first;
        for (int i = 0; i < 15; i++)
        {
            using var scope = torch.NewDisposeScope();
            optimizer.zero_grad();
            using var step = classifier.Forward(collator.Collate(items));
            step.Total.backward();
            optimizer.step();
            last = step.Total.item<float>();
        }
        Assert.True(last < first, $"{kind}: loss {first} -> {last}");
        if (kind.StartsWith("crossmodal-audio", StringComparison.Ordinal))
            Assert.Equal(items.Length, cache.Stats.Misses);
    }

    [Fact]
    public void Trainer_trains_a_unimodal_model_and_its_best_checkpoint_reloads_to_the_same_predictions()
    {
        torch.manual_seed(8);
        using var dir = new TempDir();
        using var model = new UnimodalEmotionModel(new UnimodalConfig { Stream = UnimodalStream.Text, TextDim = 6, TextGruHidden = 4, TextHeads = 2, LabelNames = Labels });
        var classifier = new UnimodalClassifier(model);
        var data = new TrainingSplits(ExperimentReportTests.TextItems(18, 1), ExperimentReportTests.TextItems(9, 2).Select(Renamed("val")).ToArray(),
            ExperimentReportTests.TextItems(9, 3).Select(Renamed("test")).ToArray());
        var options = new TrainerOptions { Epochs = 3, BatchSize = 6, LearningRateNew = 1e-2, EarlyStoppingPatience = 0, OutputDir = dir.File("run") };
        var trainer = new EmotionClassifierTrainer(options, TextWriter.Null);
        var seen = new List<BatchProgress>();
        var result = new EmotionClassifierTrainer(options, TextWriter.Null) { Batches = new SynchronousProgress<BatchProgress>(seen.Add) }.Train(classifier, data);

        Assert.Equal(3, result.EpochsCompleted);
        Assert.Equal((1, BatchPhase.Train, 6, 18), (seen[0].Epoch, seen[0].Phase, seen[0].Done, seen[0].Total));
        Assert.Contains(seen, p => p is { Epoch: 3, Phase: BatchPhase.Validate, Done: 9, Total: 9 });

        using var reloaded = new UnimodalEmotionModel(model.Config);
        var other = new UnimodalClassifier(reloaded);
        var manifest = ClassifierCheckpoint.LoadInto(other, trainer.BestCheckpointDir);
        Assert.Equal(UnimodalClassifier.Type, manifest.ModelType);
        var expected = Scoring.Predict(classifier, classifier.CreateCollator(null), data.Test, 4);
        var actual = Scoring.Predict(other, other.CreateCollator(null), data.Test, 4);
        Assert.Equal(expected.Probabilities.SelectMany(p => p), actual.Probabilities.SelectMany(p => p));
        Assert.Equal(result.TestMetrics.Accuracy, actual.Metrics(3).Accuracy, 12);

        using var wrong = new UnimodalEmotionModel(model.Config with { TextGruHidden = 2 });
        Assert.Throws<WavFusion.Core.Checkpoints.CheckpointException>(() => ClassifierCheckpoint.LoadInto(new UnimodalClassifier(wrong), trainer.BestCheckpointDir));
    }

    private static Func<ITrainingItem, ITrainingItem> Renamed(string prefix) => i => new TrainingItem($"{prefix}-{i.Id}", i.Label, i.Audio, i.Text, i.Visual);

    private static (IEmotionClassifier, ITrainingItem[]) Build(string kind)
    {
        var random = new Random(9);
        var items = Enumerable.Range(0, 6).Select(n =>
        {
            int label = n % 3;
            var audio = Enumerable.Range(0, 1600 + 160 * n).Select(i => (float)(0.4 * Math.Sin(2 * Math.PI * 250 * (1 << label) * i / 16000.0) + 0.01 * random.NextDouble())).ToArray();
            var text = torch.randn(3 + n % 3, 6) + label;
            var visual = torch.randn(2 + n % 4, 10) - label;
            return (ITrainingItem)new TrainingItem($"i{n}", label, audio, text, visual);
        }).ToArray();
        switch (kind)
        {
            case "text":
                return (new UnimodalClassifier(new UnimodalEmotionModel(new UnimodalConfig { Stream = UnimodalStream.Text, TextDim = 6, TextGruHidden = 4, TextHeads = 2, LabelNames = Labels })), items);
            case "visual":
                return (new UnimodalClassifier(new UnimodalEmotionModel(new UnimodalConfig
                {
                    Stream = UnimodalStream.Visual, VisualDim = 10, VisualGruHidden = 3, VisualHeads = 2, LvcCodes = 3, LvcChannels = 8, LvcBottleneck = 4, LvcOutputDim = 4,
                    LabelNames = Labels,
                })), items);
            default:
                var mode = kind["crossmodal-".Length..] switch { "audio_text" => CrossModalMode.AudioText, "audio" => CrossModalMode.AudioOnly, _ => CrossModalMode.TextOnly };
                var audioConfig = SyntheticEmotionData.TinyConfig().Audio;
                var encoder = mode == CrossModalMode.TextOnly ? null : new Wav2Vec2Model(audioConfig);
                var model = new CrossModalEmotionModel(new CrossModalConfig
                {
                    Mode = mode, AudioDim = audioConfig.HiddenSize, TextDim = 6, ModelDim = 8, NumHeads = 2, ClassifierHidden = 8, Dropout = 0, LabelNames = Labels,
                });
                return (new CrossModalClassifier(model, encoder), items);
        }
    }
}
