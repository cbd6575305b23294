using System.Text.Json.Nodes;
using WavFusion.Models.Fusion;
using WavFusion.Tests.Infrastructure;
using WavFusion.Training.Experiments;
using WavFusion.Training.Features;
using Xunit.Abstractions;

namespace WavFusion.Tests.Experiments;

public sealed class ExperimentConfigTests(ITestOutputHelper output)
{
    private static string ExperimentsDir => Path.Combine(RepoPaths.Root, "config", "experiments");

    public static TheoryData<string> ConfigFiles()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(RepoPaths.Root, "config", "experiments"), "*.json").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(f));
        return data;
    }

    [Fact]
    public void The_experiment_folder_has_the_paper_tables_and_the_crossmodal_runs()
    {
        var names = Directory.GetFiles(ExperimentsDir, "*.json").Select(Path.GetFileNameWithoutExtension).ToHashSet();
        string[] expected =
        [
            "iemocap-6class", "iemocap-4class-loso", "meld", "table3-a", "table3-t", "table3-v", "table3-at", "table3-av", "table3-avt",
            "table4-with-lvc", "table4-without-lvc", "table5-lambda-0", "table5-lambda-0.01", "table5-lambda-0.1", "table5-lambda-1",
            "table5-lambda-10", "table6-12-0-concat", "table6-11-1", "table6-10-2", "table6-9-3", "table6-8-4",
            "crossmodal-iemocap", "crossmodal-audio-only", "crossmodal-text-only",
        ];
        Assert.Equal([], expected.Except(names));
    }

    [Theory]
    [MemberData(nameof(ConfigFiles))]
    public void Every_experiment_config_loads_builds_and_names_known_checkpoints(string file)
    {
        var path = Path.Combine(ExperimentsDir, file);
        var config = ExperimentConfigLoader.Load(path);
        var raw = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        Assert.False(string.IsNullOrWhiteSpace(raw["//"]?.GetValue<string>()), $"{file}: document the experiment in a \"//\" field");
        Assert.Equal(Path.GetFileNameWithoutExtension(file), config.Name);
        // Two roots: the paper's experiments and the bundled demo model's recipe.
        if (file is not ("wavfusion-base.json" or "synthemo-demo.json")) Assert.NotNull(raw["extends"]);

        long parameters = ExperimentModels.CheckBuilds(config);
        output.WriteLine($"{file}: {config.Kind}, {string.Join("+", config.Modalities)}, {parameters:N0} parameters, {config.Data.Protocol}");
        Assert.True(parameters > 0);

        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "models", "manifest.json")))!["checkpoints"]!.AsArray()
            .Select(c => c!["name"]!.GetValue<string>()).ToHashSet();
        string models = Path.Combine(RepoPaths.Root, "models");
        string bundled = Path.Combine(models, "wavfusion-demo");
        foreach (var folder in new[] { config.Encoders.Wav2Vec2, config.Encoders.Text, config.Encoders.Visual }.OfType<string>())
        {
            // A public checkpoint downloaded into models/, or one of the demo encoders shipped in the repository.
            if (Path.GetDirectoryName(folder) == bundled)
            {
                Assert.True(File.Exists(Path.Combine(folder, "config.json")), $"{file}: bundled encoder {folder} is not in the repository");
                continue;
            }
            Assert.Equal(models, Path.GetDirectoryName(folder));
            Assert.Contains(Path.GetFileName(folder), manifest);
        }
        // Published corpora live under data/; generated ones (SynthEmo) under runs/.
        string dataRoot = config.Data.Corpus == CorpusKind.SynthEmo ? "runs" : "data";
        Assert.StartsWith(Path.Combine(RepoPaths.Root, dataRoot) + "/", config.Data.Root, StringComparison.Ordinal);
        Assert.Equal(Path.Combine(RepoPaths.Root, "runs", config.Name), config.Training.OutputDir);
        // SynthEmo's classes come from its manifest; the demo configs name them in the generator's order.
        var labels = config.Data.KnownLabels?.Names ?? WavFusion.Training.SynthEmo.SynthEmoDesign.Classes.Select(c => c.Name).ToList();
        Assert.Equal(labels, config.LabelNames);
        if (config.Uses(Modality.Text)) Assert.NotNull(config.Encoders.Text);
        if (config.Uses(Modality.Visual)) Assert.NotNull(config.Encoders.Visual);
    }

    [Fact]
    public void Ablations_differ_from_the_full_model_in_the_field_they_name()
    {
        var full = ExperimentConfigLoader.Load(Path.Combine(ExperimentsDir, "iemocap-6class.json"));
        WavFusionConfig Of(string name) => ExperimentModels.WavFusionConfigOf(ExperimentConfigLoader.Load(Path.Combine(ExperimentsDir, name + ".json")).ModelConfig, null);
        var baseline = ExperimentModels.WavFusionConfigOf(full.ModelConfig, null);
        Assert.Equal((3, FusionKind.Gated, true, 1.0), (baseline.DeepLayers, baseline.Fusion, baseline.UseLvc, baseline.MarginLambda));
        Assert.False(Of("table4-without-lvc").UseLvc);
        Assert.Equal(0.01, Of("table5-lambda-0.01").MarginLambda);
        Assert.Equal((0, FusionKind.Concat), (Of("table6-12-0-concat").DeepLayers, Of("table6-12-0-concat").Fusion));
        Assert.Equal(4, Of("table6-8-4").DeepLayers);
        Assert.Equal((baseline with { MarginLambda = 10 }).ToJson(), Of("table5-lambda-10").ToJson());
        var loso = ExperimentConfigLoader.Load(Path.Combine(ExperimentsDir, "iemocap-4class-loso.json"));
        Assert.Equal([1, 2, 3, 4, 5], loso.Data.SelectedFolds);
        Assert.Equal([Modality.Audio], ExperimentConfigLoader.Load(Path.Combine(ExperimentsDir, "table3-a.json")).Modalities);
    }

    [Fact]
    public void Extends_merges_objects_key_by_key_replaces_arrays_and_resolves_paths_against_the_declaring_file()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("base"));
        File.WriteAllText(dir.File("base/base.json"), """
            {
              "//": "base", "name": "base",
              "model": { "kind": "wavfusion", "config_path": "../model.json", "config": { "margin_lambda": 0.5 } },
              "encoders": { "wav2vec2": "../w2v", "text": "../rob", "visual": "../eff" },
              "data": { "corpus": "iemocap", "root": "corpus", "protocol": "six_class_session5" },
              "modalities": ["audio", "text", "visual"],
              "training": { "epochs": 7, "batch_size": 3, "output_dir": "runs" } // trailing comments are fine
            }
            """);
        File.WriteAllText(dir.File("model.json"), TinyModelJson());
        File.WriteAllText(dir.File("child.json"), """
            {
              "extends": "base/base.json", "name": "child",
              "model": { "config": { "use_lvc": false } },
              "encoders": { "visual": null },
              "modalities": ["text", "audio"],
              "training": { "epochs": 2, "output_dir": "out" }
            }
            """);

        var config = ExperimentConfigLoader.Load(dir.File("child.json"));
        Assert.Equal("child", config.Name);
        Assert.Equal([dir.File("base/base.json"), dir.File("child.json")], config.Chain);
        Assert.Equal((2, 3), (config.Training.Epochs, config.Training.BatchSize));
        Assert.Equal(dir.File("out"), config.Training.OutputDir);
        Assert.Equal(dir.File("base/corpus"), config.Data.Root);
        Assert.Equal(new EncoderFolders(dir.File("w2v"), dir.File("rob"), null), config.Encoders);
        Assert.Equal([Modality.Audio, Modality.Text], config.Modalities);
        var model = ExperimentModels.WavFusionConfigOf(config.ModelConfig, null);
        Assert.False(model.UseLvc);
        Assert.Equal(0.5, model.MarginLambda);
        Assert.Equal(2, model.DeepLayers);
        Assert.Equal(["happy", "sad", "neutral", "angry", "excited", "frustrated"], config.LabelNames);
    }

    [Fact]
    public void Errors_name_the_file_that_set_the_field_and_the_field()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("model.json"), TinyModelJson());
        File.WriteAllText(dir.File("base.json"), """
            { "name": "base", "model": { "kind": "wavfusion", "config_path": "model.json" },
              "data": { "corpus": "iemocap", "root": "c" }, "modalities": ["audio"] }
            """);
        string Fails(string name, string json)
        {
            File.WriteAllText(dir.File(name), json);
            var e = Assert.ThrowsAny<ArgumentException>(() => ExperimentConfigLoader.Load(dir.File(name)));
            output.WriteLine(e.Message);
            return e.Message;
        }

        var typo = Fails("typo.json", """{ "extends": "base.json", "training": { "epoch": 3 } }""");
        Assert.StartsWith(dir.File("typo.json") + ": training", typo, StringComparison.Ordinal);
        Assert.Contains("epoch", typo, StringComparison.Ordinal);

        var protocol = Fails("protocol.json", """{ "extends": "base.json", "data": { "protocol": "ten_class" } }""");
        Assert.StartsWith(dir.File("protocol.json") + ": data.protocol: 'ten_class'", protocol, StringComparison.Ordinal);
        Assert.Contains("four_class_loso", protocol, StringComparison.Ordinal);

        var epochs = Fails("epochs.json", """{ "extends": "base.json", "training": { "epochs": 0 } }""");
        Assert.StartsWith(dir.File("epochs.json") + ": training: epochs must be positive", epochs, StringComparison.Ordinal);

        var kind = Fails("kind.json", """{ "extends": "base.json", "model": { "kind": "transformer" } }""");
        Assert.StartsWith(dir.File("kind.json") + ": model.kind", kind, StringComparison.Ordinal);

        var deep = Fails("deep.json", """{ "extends": "base.json", "model": { "config": { "deep_layers": 9 } } }""");
        Assert.StartsWith(dir.File("deep.json") + ": model.config", deep, StringComparison.Ordinal);
        Assert.Contains("deep_layers", deep, StringComparison.Ordinal);

        var labels = Fails("labels.json", """{ "extends": "base.json", "data": { "protocol": "four_class_loso" }, "model": { "config": { "label_names": ["a", "b", "c", "d"] } } }""");
        Assert.Contains("model.config.label_names", labels, StringComparison.Ordinal);

        var missingText = Fails("text.json", """{ "extends": "base.json", "modalities": ["audio", "text"] }""");
        Assert.StartsWith(dir.File("text.json") + ": encoders.text", missingText, StringComparison.Ordinal);

        var folds = Fails("folds.json", """{ "extends": "base.json", "data": { "protocol": "four_class_loso", "folds": [6] }, "model": { "config": { "label_names": ["happy", "sad", "neutral", "angry"] } } }""");
        Assert.StartsWith(dir.File("folds.json") + ": data.folds", folds, StringComparison.Ordinal);

        var unimodal = Fails("uni.json", """{ "extends": "base.json", "model": { "kind": "text_only", "config_path": null }, "modalities": ["audio"] }""");
        Assert.Contains("modalities", unimodal, StringComparison.Ordinal);

        var top = Fails("top.json", """{ "extends": "base.json", "modality": ["audio"] }""");
        Assert.StartsWith(dir.File("top.json") + ": modality: unknown field", top, StringComparison.Ordinal);

        var missing = Fails("missing.json", """{ "extends": "nowhere.json" }""");
        Assert.Contains("nowhere.json' not found", missing, StringComparison.Ordinal);

        File.WriteAllText(dir.File("a.json"), """{ "extends": "b.json" }""");
        var loop = Fails("b.json", """{ "extends": "a.json" }""");
        Assert.Contains("loop", loop, StringComparison.Ordinal);

        var field = Fails("inherited.json", """{ "extends": "base.json", "name": "x" }""".Replace("\"name\": \"x\"", "\"name\": \"\"", StringComparison.Ordinal));
        Assert.StartsWith(dir.File("inherited.json") + ": name", field, StringComparison.Ordinal);
    }

    private static string TinyModelJson() => """
        {
          "//": "tiny",
          "wav2vec2": { "hidden_size": 16, "num_hidden_layers": 3, "num_attention_heads": 2, "intermediate_size": 32,
                        "conv_dim": [8, 8], "conv_kernel": [10, 3], "conv_stride": [5, 2], "num_conv_pos_embeddings": 8, "num_conv_pos_embedding_groups": 2 },
          "deep_layers": 2, "text_dim": 12, "text_gru_hidden": 4, "text_heads": 2,
          "visual_dim": 10, "visual_gru_hidden": 3, "visual_heads": 2, "lvc_codes": 3, "lvc_channels": 8, "lvc_bottleneck": 4, "lvc_output_dim": 4,
          "margin_projection": 6
        }
        """;
}
