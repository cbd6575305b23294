using System.Text.Json.Nodes;
using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Inference;
using WavFusion.Models.Fusion;
using WavFusion.Tests.Fusion;
using WavFusion.Tests.Infrastructure;
using WavFusion.Tests.Trainer;
using WavFusion.Training.Experiments;
using WavFusion.Training.Features;
using WavFusion.Training.Trainer;
using static TorchSharp.torch;

namespace WavFusion.Tests.Experiments;

[Collection(SeededTorchCollection.Name)]
public sealed class FeatureExtractorSettingsTests
{
    [Fact]
    public void A_wav2vec2_folder_without_normalisation_trains_a_checkpoint_that_records_it_and_serving_preprocesses_alike()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("w2v"));
        File.WriteAllText(dir.File("w2v/preprocessor_config.json"),
            """{ "feature_extractor_type": "Wav2Vec2FeatureExtractor", "sampling_rate": 16000, "do_normalize": false, "return_attention_mask": false }""");
        var experiment = new ExperimentConfig
        {
            Name = "raw-audio",
            SourcePath = dir.File("raw-audio.json"),
            Chain = [dir.File("raw-audio.json")],
            Kind = ModelKind.WavFusion,
            ModelConfig = JsonNode.Parse(SyntheticEmotionData.TinyConfig().ToJson())!.AsObject(),
            Encoders = new EncoderFolders(dir.File("w2v"), null, null),
            Data = new DataSpec(CorpusKind.SynthEmo, dir.File("corpus"), DataSpec.SynthEmoManifest, null),
            Modalities = [Modality.Audio],
            Video = new VideoSampling(),
            Training = new TrainerOptions { Epochs = 1, BatchSize = 6, EarlyStoppingPatience = 0, Seed = 5, OutputDir = dir.File("run"), UseFeatureCache = false },
        };

        torch.manual_seed(5);
        using (var classifier = ExperimentModels.Build(experiment, loadPretrained: false))
        {
            Assert.False(classifier.FeatureExtractor!.DoNormalize);
            new EmotionClassifierTrainer(experiment.Training, TextWriter.Null).Train(classifier, SyntheticEmotionData.Splits(trainPerClass: 2, heldOutPerClass: 1));
        }

        string best = Path.Combine(dir.File("run"), EmotionClassifierTrainer.CheckpointsFolder, EmotionClassifierTrainer.BestCheckpoint);
        var recorded = JsonNode.Parse(File.ReadAllText(Path.Combine(best, ModelCheckpoint.ManifestFile)))!["feature_extractor"]!;
        Assert.False(recorded["do_normalize"]!.GetValue<bool>());
        using (var evaluated = ExperimentModels.FromCheckpoint(best, experiment))
            Assert.False(evaluated.FeatureExtractor!.DoNormalize);

        using var bundle = ModelBundle.Load(best);
        Assert.False(bundle.FeatureExtractor.DoNormalize);
        var audio = Enumerable.Range(0, 4000).Select(i => (float)(0.2 * Math.Sin(i * 0.05) + 0.1)).ToArray();
        var scored = new WindowScorer(bundle).Score([new ScoringWindow(audio)])[0].Probabilities.ToArray();

        using var mode = torch.inference_mode();
        using var scope = torch.NewDisposeScope();
        float[] Forward(Tensor values) =>
            bundle.Model.forward(WavFusionInput.FromAudio(values, null)).Probabilities.to(ScalarType.Float32).cpu().data<float>().ToArray();
        Assert.Equal(Forward(torch.tensor(audio, [1, audio.Length])), scored);
        Assert.NotEqual(Forward(new WavFusion.Models.Wav2Vec2.Wav2Vec2FeatureExtractor().Normalize(audio)), scored);
    }
}
