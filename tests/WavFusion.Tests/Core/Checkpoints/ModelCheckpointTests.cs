using System.Text.Json.Nodes;
using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Tests.Infrastructure;
using static TorchSharp.torch;

namespace WavFusion.Tests.Checkpoints;

public sealed class ModelCheckpointTests
{
    private sealed class Tiny : nn.Module
    {
        public readonly nn.Module<Tensor, Tensor> proj;
        public readonly nn.Module<Tensor, Tensor> norm;

        public Tiny(long seed) : base(nameof(Tiny))
        {
            torch.manual_seed(seed);
            proj = nn.Linear(4, 3);
            norm = nn.BatchNorm1d(3);
            RegisterComponents();
        }
    }

    private static CheckpointManifest Manifest() => new()
    {
        ModelType = "tiny",
        ModelVersion = "0.1.0-test",
        Config = new JsonObject { ["hidden"] = 4 },
        Labels = ["happy", "sad", "neutral"],
        Training = new JsonObject { ["epochs"] = 2, ["seed"] = 7 },
    };

    [Fact]
    public void Save_and_load_round_trip_weights_config_labels_and_metadata()
    {
        using var dir = new TempDir();
        var saved = new Tiny(1);
        ModelCheckpoint.Save(dir.File("ckpt"), saved, Manifest());

        var (manifest, weights) = ModelCheckpoint.Load(dir.File("ckpt"));
        Assert.Equal("tiny", manifest.ModelType);
        Assert.Equal(["happy", "sad", "neutral"], manifest.Labels);
        Assert.Equal(4, (int)manifest.Config["hidden"]!);
        Assert.Equal(7, (int)manifest.Training!["seed"]!);
        Assert.Matches("^[0-9a-f]{64}$", manifest.WeightsSha256!);

        var restored = new Tiny(2);
        Assert.False(restored.state_dict()["proj.weight"].Same(saved.state_dict()["proj.weight"]));
        StateDictLoader.Load(restored, weights, "ckpt");
        foreach (var (k, v) in saved.state_dict()) Assert.True(v.Same(restored.state_dict()[k]), k);
    }

    [Fact]
    public void Saving_over_an_existing_checkpoint_replaces_it_whole()
    {
        using var dir = new TempDir();
        ModelCheckpoint.Save(dir.File("ckpt"), new Tiny(1), Manifest());
        ModelCheckpoint.Save(dir.File("ckpt"), new Tiny(3), Manifest() with { ModelVersion = "0.2.0" });
        Assert.Equal("0.2.0", ModelCheckpoint.ReadManifest(dir.File("ckpt")).ModelVersion);
        Assert.Single(Directory.GetDirectories(dir.Path));
    }

    [Fact]
    public void Damaged_weights_are_detected_by_hash()
    {
        using var dir = new TempDir();
        ModelCheckpoint.Save(dir.File("ckpt"), new Tiny(1), Manifest());
        string weights = Path.Combine(dir.File("ckpt"), ModelCheckpoint.WeightsFile);
        var bytes = File.ReadAllBytes(weights);
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(weights, bytes);
        var e = Assert.Throws<CheckpointException>(() => ModelCheckpoint.Load(dir.File("ckpt")));
        Assert.Contains("sha256", e.Message);
    }

    [Fact]
    public void Strict_load_names_missing_unexpected_and_misshaped_keys_and_copies_nothing()
    {
        var model = new Tiny(1);
        var before = model.state_dict()["proj.weight"].clone();
        var source = new Tiny(2).state_dict().ToDictionary(kv => kv.Key, kv => kv.Value);
        source.Remove("proj.bias");
        source["proj.weight"] = torch.zeros(3, 5);
        source["stray.weight"] = torch.zeros(1);
        var e = Assert.Throws<CheckpointException>(() => StateDictLoader.Load(model, source, "src.safetensors"));
        Assert.Contains("src.safetensors", e.Message);
        Assert.Contains("missing keys: proj.bias", e.Message);
        Assert.Contains("unexpected keys: stray.weight", e.Message);
        Assert.Contains("proj.weight: checkpoint [3, 5] vs model [3, 4]", e.Message);
        Assert.True(before.Same(model.state_dict()["proj.weight"]));
    }
}
