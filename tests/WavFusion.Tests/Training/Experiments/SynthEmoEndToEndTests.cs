using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using WavFusion.Tests.Fusion;
using WavFusion.Tests.Infrastructure;
using WavFusion.Training.Data;
using WavFusion.Training.Features;
using WavFusion.Training.Recipes;
using WavFusion.Training.SynthEmo;
using Xunit.Abstractions;

namespace WavFusion.Tests.Experiments;

/// <summary>
/// `wavfusion train` end to end on a small generated SynthEmo corpus with small demo encoders, through the
/// built CLI: learning, the report files, a run killed mid-epoch resumed, and the feature cache reused
/// across runs and rebuilt when the frozen model changes.
/// </summary>
[Collection(SeededTorchCollection.Name)]
public sealed class SynthEmoEndToEndTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Prepare(int seed, int epochs)
    {
        string data = _dir.File("data");
        if (!File.Exists(Path.Combine(data, "manifest.jsonl")))
        {
            SynthEmoGenerator.Generate(data, new SynthEmoOptions { Items = 150, Seed = 5, FrameSize = 32, FramesPerItem = 4 });
            var train = SynthEmoManifest.Load(data).Partitions[0].Train;
            DemoEncoders.WriteTextEncoder(_dir.File("text"), train.Select(i => i.Text), seed: 1,
                new DemoEncoders.TextEncoderShape { HiddenSize = 32, Layers = 1, Heads = 2, IntermediateSize = 64, MaxTokens = 48, MaxMerges = 300 });
            var frames = train.Take(20).SelectMany(i => VideoFrames.Read(i.Video!, new VideoSampling { Size = 32 })).ToList();
            DemoEncoders.WriteVisualEncoder(_dir.File("visual"), frames, 32, seed: 1, new DemoEncoders.VisualEncoderShape { ImageSize = 32, CalibrationBatches = 2 });
        }
        var config = new JsonObject
        {
            ["//"] = "end-to-end test run",
            ["name"] = "e2e",
            ["model"] = new JsonObject
            {
                ["kind"] = "wavfusion",
                ["config"] = JsonNode.Parse("""
                {
                  "wav2vec2": { "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
                    "conv_dim": [32, 32, 32], "conv_kernel": [10, 8, 4], "conv_stride": [5, 4, 4], "conv_bias": false,
                    "feat_extract_norm": "group", "do_stable_layer_norm": false, "num_conv_pos_embeddings": 16,
                    "num_conv_pos_embedding_groups": 4, "hidden_dropout": 0.0, "attention_dropout": 0.0, "layerdrop": 0.0, "mask_time_prob": 0.0 },
                  "deep_layers": 1, "text_dim": 32, "text_gru_hidden": 16, "text_heads": 2,
                  "visual_dim": 320, "visual_gru_hidden": 8, "visual_heads": 2, "lvc_codes": 4, "lvc_channels": 16, "lvc_bottleneck": 8, "lvc_output_dim": 8,
                  "margin_projection": 16, "modality_dropout": 0.1
                }
                """),
            },
            ["encoders"] = new JsonObject { ["wav2vec2"] = null, ["text"] = _dir.File("text"), ["visual"] = _dir.File("visual") },
            ["data"] = new JsonObject { ["corpus"] = "synthemo", ["root"] = data, ["protocol"] = "manifest" },
            ["modalities"] = new JsonArray("audio", "text", "visual"),
            ["video"] = new JsonObject { ["frames_per_second"] = 5, ["size"] = 32, ["max_frames"] = 8 },
            ["training"] = new JsonObject
            {
                ["epochs"] = epochs, ["batch_size"] = 8, ["learning_rate_wav2vec2"] = 0.003, ["learning_rate_new"] = 0.003,
                ["warmup_ratio"] = 0.05, ["early_stopping_patience"] = 0, ["seed"] = seed,
                ["output_dir"] = _dir.File("runs/unused"), ["feature_cache_dir"] = _dir.File("cache"),
            },
        };
        string path = _dir.File($"e2e-{seed}-{epochs}.json");
        File.WriteAllText(path, config.ToJsonString());
        return path;
    }

    private static List<JsonNode> Log(string run) =>
        [.. File.ReadAllLines(Path.Combine(run, "train_log.jsonl")).Where(l => l.Length > 0).Select(l => JsonNode.Parse(l)!)];

    [Fact]
    public void Train_learns_reports_resumes_after_a_kill_and_reuses_the_cache()
    {
        var watch = Stopwatch.StartNew();
        string config = Prepare(seed: 11, epochs: 8);
        output.WriteLine($"corpus and encoders {watch.Elapsed.TotalSeconds:F1} s");

        // 1. A full run: loss falls, held-out accuracy beats chance (5 classes), reports agree with predictions.csv.
        string run = _dir.File("runs/full");
        var r = ProcessRunner.Cli("train", "--config", config, "--output", run);
        Assert.True(r.ExitCode == 0, r.All);
        var log = Log(run);
        Assert.Equal(8, log.Count);
        double first = log[0]["train_loss"]!.GetValue<double>(), last = log[^1]["train_loss"]!.GetValue<double>();
        output.WriteLine($"train loss {first:F3} -> {last:F3}; {watch.Elapsed.TotalSeconds:F1} s");
        Assert.True(last < first * 0.8, $"train loss {first} -> {last}");
        var metrics = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "metrics.json")))!;
        double accuracy = metrics["accuracy"]!.GetValue<double>();
        output.WriteLine($"held-out accuracy {accuracy:F3}");
        Assert.True(accuracy > 0.3, $"held-out accuracy {accuracy} does not beat chance (0.2) clearly");
        var rows = File.ReadAllLines(Path.Combine(run, "predictions.csv")).Skip(1).Select(l => l.Split(',')).ToList();
        Assert.Equal(metrics["count"]!.GetValue<int>(), rows.Count);
        Assert.Equal(accuracy, rows.Count(c => c[1] == c[2]) / (double)rows.Count, 9);
        foreach (var png in new[] { "confusion_matrix.png", "training_curves.png" })
            Assert.True(new FileInfo(Path.Combine(run, png)).Length > 1000, $"{png} missing or empty");
        // Every epoch after the first reads the frozen audio from the cache.
        Assert.True(log[0]["cache_misses"]!.GetValue<long>() > 0);
        Assert.All(log.Skip(1), e => Assert.Equal(0, e!["cache_misses"]!.GetValue<long>()));

        // 2. The same frozen model in a new run: the cache filled by run 1 serves every item.
        string again = _dir.File("runs/again");
        Assert.Equal(0, ProcessRunner.Cli("train", "--config", config, "--output", again, "--epochs", "1").ExitCode);
        Assert.Equal(0, Log(again)[0]["cache_misses"]!.GetValue<long>());

        // 3. Another seed initialises another frozen wav2vec2: its hash differs, so the cache is rebuilt for it.
        string reseeded = _dir.File("runs/reseeded");
        Assert.Equal(0, ProcessRunner.Cli("train", "--config", Prepare(seed: 12, epochs: 1), "--output", reseeded).ExitCode);
        Assert.True(Log(reseeded)[0]["cache_misses"]!.GetValue<long>() > 0);

        // 4. Killed mid-run, resumed: the log continues after the last completed epoch and the run finishes.
        string killed = _dir.File("runs/killed");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { ProcessRunner.CliDll, "train", "--config", config, "--output", killed }) start.ArgumentList.Add(a);
        using (var process = Process.Start(start)!)
        {
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            string logPath = Path.Combine(killed, "train_log.jsonl");
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
            while (DateTime.UtcNow < deadline && !process.HasExited && (!File.Exists(logPath) || File.ReadAllLines(logPath).Length < 2))
                Thread.Sleep(50);
            Assert.False(process.HasExited, "the run ended before it could be killed");
            Thread.Sleep(300);
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        int completed = Log(killed).Count;
        output.WriteLine($"killed after {completed} logged epoch(s)");
        Assert.True(completed < 8);
        Assert.False(File.Exists(Path.Combine(killed, "metrics.json")));
        var resumed = ProcessRunner.Cli("train", "--config", config, "--output", killed, "--resume");
        Assert.True(resumed.ExitCode == 0, resumed.All);
        var epochs = Log(killed).Select(e => e["epoch"]!.GetValue<int>()).ToList();
        Assert.Equal(Enumerable.Range(1, 8), epochs);
        Assert.True(File.Exists(Path.Combine(killed, "metrics.json")));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"total {watch.Elapsed.TotalSeconds:F1} s"));
    }
}
