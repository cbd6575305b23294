using System.Text.Json;
using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.Fusion;
using WavFusion.Tests.Infrastructure;
using Xunit.Abstractions;
using static TorchSharp.torch;
using WavFusion.Models.Layers;

namespace WavFusion.Tests.Fusion;

/// <summary>WavFusion filled from the wav2vec2 reference fixtures (both families), checked against the reference outputs.</summary>
public sealed class WavFusionPretrainedTests(ITestOutputHelper log)
{
    private static List<string> Wav2Vec2Fixtures() =>
        Directory.Exists(RepoPaths.ReferenceFixtures)
            ? Directory.GetDirectories(RepoPaths.ReferenceFixtures)
                .Where(d => File.Exists(Path.Combine(d, "config.json")) && File.Exists(Path.Combine(d, "io.safetensors"))
                            && JsonDocument.Parse(File.ReadAllText(Path.Combine(d, "config.json"))).RootElement
                                .TryGetProperty("model_type", out var t) && t.GetString() == "wav2vec2")
                .Order(StringComparer.Ordinal).ToList()
            : [];

    [SkippableFact]
    public void Without_auxiliary_streams_the_loaded_model_reproduces_the_reference_wav2vec2_outputs()
    {
        var fixtures = Wav2Vec2Fixtures();
        Skip.If(fixtures.Count == 0, $"no wav2vec2 reference fixture under {RepoPaths.ReferenceFixtures}");
        using var temp = new TempDir();
        foreach (var fixture in fixtures)
        {
            using var _ = torch.NewDisposeScope();
            // The config names the fixture's config.json by path, as a user's WavFusion config names a hub folder.
            var configPath = temp.File($"{Path.GetFileName(fixture)}.json");
            File.WriteAllText(configPath, JsonSerializer.Serialize(new
            {
                wav2vec2_config_path = Path.GetRelativePath(temp.Path, fixture),
                deep_layers = 1,
                text_dim = 8, text_gru_hidden = 4, text_heads = 2,
                visual_dim = 6, visual_gru_hidden = 2, visual_heads = 2, lvc_codes = 3, lvc_channels = 8, lvc_bottleneck = 4, lvc_output_dim = 4,
                label_names = new[] { "a", "b" },
            }));
            var config = WavFusionConfig.Load(configPath);
            using var model = new WavFusionModel(config);
            model.LoadPretrainedAudio(fixture);
            model.eval();

            using var io = SafeTensorsFile.Open(Path.Combine(fixture, "io.safetensors"));
            var reference = io.ReadAll();
            var inputValues = reference["input_values"];
            var shallowReference = reference[$"layer_output.{config.ShallowLayers - 1}"];
            var shallow = model.EncodeShallow(inputValues);
            var output = model.call(WavFusionInput.FromAudio(inputValues));
            var shallowDiff = (shallow.Hidden - shallowReference).abs().max().item<float>();
            var lastDiff = (output.Hidden - reference["last_hidden_state"]).abs().max().item<float>();
            log.WriteLine($"{Path.GetFileName(fixture)}: shallow (layer {config.ShallowLayers - 1}) max diff {shallowDiff:E2}, last hidden state max diff {lastDiff:E2}");
            Assert.True(shallowDiff < 1e-4, $"{fixture}: shallow output differs by {shallowDiff}");
            Assert.True(lastDiff < 1e-4, $"{fixture}: last hidden state differs by {lastDiff}");

            // With streams the deep layer changes, from the same pretrained starting point.
            var b = inputValues.shape[0];
            var fused = model.call(WavFusionInput.FromAudio(inputValues, null,
                new ModalitySequence(torch.randn(b, 3, 8)), new ModalitySequence(torch.randn(b, 2, 6))));
            Assert.True(fused.Probabilities.isfinite().all().item<bool>());
            Assert.False(fused.Hidden.allclose(output.Hidden, atol: 1e-4));
        }
    }
}
