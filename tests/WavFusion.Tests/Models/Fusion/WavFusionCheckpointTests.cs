using System.Text.Json.Nodes;
using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.Fusion;
using WavFusion.Models.Wav2Vec2;
using WavFusion.Tests.Infrastructure;
using WavFusion.Training.Classifiers;
using static TorchSharp.torch;
using WavFusion.Models.Layers;

namespace WavFusion.Tests.Fusion;

[Collection(SeededTorchCollection.Name)]
public sealed class WavFusionCheckpointTests
{
    private static WavFusionConfig Tiny() => new()
    {
        Wav2Vec2 = new Wav2Vec2Config
        {
            HiddenSize = 16, NumHiddenLayers = 3, NumAttentionHeads = 2, IntermediateSize = 32,
            ConvDim = [8, 8], ConvKernel = [10, 3], ConvStride = [5, 2], NumConvPosEmbeddings = 8, NumConvPosEmbeddingGroups = 2,
        },
        DeepLayers = 2, TextDim = 12, TextGruHidden = 4, TextHeads = 2,
        VisualDim = 10, VisualGruHidden = 3, VisualHeads = 2, LvcCodes = 3, LvcChannels = 8, LvcBottleneck = 4, LvcOutputDim = 4,
        MarginProjection = 6, LabelNames = ["calm", "tense", "glad"],
    };

    [Fact]
    public void Saved_model_reloads_with_its_config_labels_and_identical_outputs()
    {
        using var dir = new TempDir();
        torch.manual_seed(5);
        using var model = new WavFusionModel(Tiny());
        model.eval();
        ClassifierCheckpoint.Save(new WavFusionClassifier(model), dir.File("ckpt"), "0.0.1-test", new JsonObject { ["epochs"] = 1 });

        var (loaded, manifest) = WavFusionCheckpoint.Load(dir.File("ckpt"));
        using (loaded)
        {
            Assert.Equal("0.0.1-test", manifest.ModelVersion);
            Assert.Equal(["calm", "tense", "glad"], manifest.Labels);
            Assert.Equal(2, loaded.Config.DeepLayers);
            using var _ = torch.inference_mode();
            using var scope = torch.NewDisposeScope();
            var audio = torch.randn(2, 900);
            var text = new ModalitySequence(torch.randn(2, 4, 12));
            var a = model.forward(WavFusionInput.FromAudio(audio, null, text));
            var b = loaded.forward(WavFusionInput.FromAudio(audio, null, text));
            Assert.True(a.Probabilities.Same(b.Probabilities));
        }
    }

    [Fact]
    public void A_checkpoint_of_another_model_type_or_with_disagreeing_labels_is_refused()
    {
        using var dir = new TempDir();
        torch.manual_seed(5);
        using var model = new WavFusionModel(Tiny());
        ClassifierCheckpoint.Save(new WavFusionClassifier(model), dir.File("ckpt"), "1");
        string manifestPath = Path.Combine(dir.File("ckpt"), ModelCheckpoint.ManifestFile);
        string json = File.ReadAllText(manifestPath);

        File.WriteAllText(manifestPath, json.Replace("\"model_type\": \"wavfusion\"", "\"model_type\": \"other\"", StringComparison.Ordinal));
        Assert.Contains("'other'", Assert.Throws<CheckpointException>(() => WavFusionCheckpoint.Load(dir.File("ckpt"))).Message);

        var node = JsonNode.Parse(json)!;
        node["labels"] = new JsonArray("x", "y", "z");
        File.WriteAllText(manifestPath, node.ToJsonString());
        Assert.Contains("disagree", Assert.Throws<CheckpointException>(() => WavFusionCheckpoint.Load(dir.File("ckpt"))).Message);
    }

    [Fact]
    public void Demo_command_runs_a_saved_checkpoint()
    {
        using var dir = new TempDir();
        torch.manual_seed(5);
        using var model = new WavFusionModel(Tiny());
        ClassifierCheckpoint.Save(new WavFusionClassifier(model), dir.File("ckpt"), "9.9.9");
        // Real speech, so the live pipeline's VAD finds utterances to score.
        var r = ProcessRunner.Cli("demo", "--json", "--model", dir.File("ckpt"), "--audio", Path.Combine(RepoPaths.Samples, "jfk.flac"), "--window", "1", "--hop", "0.5");
        Assert.True(r.ExitCode == 0, r.All);
        var results = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => WavFusion.Api.V1.StreamingRecognizeResponse.Parser.ParseJson(line)).Where(e => e.Result is not null).Select(e => e.Result).ToList();
        Assert.NotEmpty(results);
        Assert.All(results, e => Assert.Equal("9.9.9", e.ModelVersion));
        Assert.All(results, e => Assert.Equal(["calm", "tense", "glad"], e.Fused.Select(s => s.Label)));
    }
}
