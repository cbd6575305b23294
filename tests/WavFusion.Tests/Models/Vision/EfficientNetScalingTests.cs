using System.Text.Json;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.Vision;
using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Vision;

public sealed class EfficientNetScalingTests
{
    [Theory]
    [InlineData(16.0, 16)]  // already a multiple of 8
    [InlineData(12.0, 16)]  // int(12 + 4) // 8 * 8: halves round up
    [InlineData(20.0, 24)]
    [InlineData(4.0, 8)]    // never below 8
    [InlineData(27.0, 32)]  // 24 would lose more than 10 % of 27, so one step up
    [InlineData(44.0, 48)]
    [InlineData(43.0, 40)]  // int(47) // 8 * 8 = 40 ≥ 0.9 · 43
    public void Make_divisible_follows_torchvision(double value, int expected) =>
        Assert.Equal(expected, EfficientNetStage.MakeDivisible(value));

    [Fact]
    public void Multipliers_of_one_are_b0_itself()
    {
        Assert.Equal(EfficientNetStage.B0, EfficientNetStage.Scaled(1.0, 1.0));
        using var model = new EfficientNetB0(3);
        Assert.Equal(EfficientNetB0.FeatureChannels, model.HeadChannels);
    }

    [Fact]
    public void Half_width_half_depth_has_the_layout_torchvision_builds()
    {
        // By hand from torchvision's rules: widths 32,16,24,40,80,112,192,320 × 0.5 → 16,8,16,24,40,56,96,160;
        // repeats ⌈(1,2,2,3,3,4,1) × 0.5⌉ = 1,1,1,2,2,2,1; head 4 × 160 = 640.
        using var model = new EfficientNetB0(5, widthMult: 0.5, depthMult: 0.5);
        var shapes = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape, StringComparer.Ordinal);
        var expected = new Dictionary<string, long[]>
        {
            ["features.0.0.weight"] = [16, 3, 3, 3],
            ["features.1.0.block.0.0.weight"] = [16, 1, 3, 3],        // depthwise, no expansion in stage 1
            ["features.1.0.block.1.fc1.weight"] = [4, 16, 1, 1],      // squeeze = input // 4
            ["features.1.0.block.2.0.weight"] = [8, 16, 1, 1],
            ["features.2.0.block.0.0.weight"] = [48, 8, 1, 1],        // expand 8 × 6
            ["features.2.0.block.2.fc1.weight"] = [2, 48, 1, 1],
            ["features.4.1.block.0.0.weight"] = [240, 40, 1, 1],      // second block: input = stage output 40
            ["features.6.1.block.2.fc2.weight"] = [576, 24, 1, 1],    // 96 × 6, squeeze 96 // 4
            ["features.7.0.block.3.0.weight"] = [160, 576, 1, 1],
            ["features.8.0.weight"] = [640, 160, 1, 1],
            ["classifier.1.weight"] = [5, 640],
        };
        foreach (var (key, shape) in expected)
        {
            Assert.True(shapes.ContainsKey(key), $"missing {key}");
            Assert.Equal(shape, shapes[key]);
        }
        Assert.False(shapes.ContainsKey("features.6.2.block.0.0.weight"), "stage 6 keeps ⌈4 × 0.5⌉ = 2 blocks");
        Assert.False(shapes.ContainsKey("features.2.1.block.0.0.weight"), "stage 2 keeps ⌈2 × 0.5⌉ = 1 block");
        Assert.Equal(10, model.modules().OfType<MBConv>().Count());
        Assert.Equal(640, model.HeadChannels);
    }

    [Fact]
    public void A_scaled_checkpoint_loads_from_its_config_and_fails_clearly_without_it()
    {
        using var dir = new TempDir();
        using var source = new EfficientNetB0(4, widthMult: 0.25, depthMult: 0.34);
        string folder = dir.File("tiny");
        Directory.CreateDirectory(folder);
        SafeTensorsWriter.Write(Path.Combine(folder, "model.safetensors"), VisionCheckpointFiles.TorchvisionStateDict(source));
        File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["model_type"] = "efficientnet_b0", ["source"] = "torchvision", ["width_mult"] = 0.25, ["depth_mult"] = 0.34,
        }));
        using (var loaded = EfficientNetB0.FromCheckpoint(folder))
        {
            Assert.Equal(320, loaded.HeadChannels);   // 4 × make_divisible(320 × 0.25)
            Assert.Equal(4, loaded.NumClasses);
            Assert.Equal(10, loaded.modules().OfType<MBConv>().Count()); // ⌈(1,2,2,3,3,4,1) × 0.34⌉ = 1,1,1,2,2,2,1
        }

        File.WriteAllText(Path.Combine(folder, "config.json"), """{"model_type":"efficientnet_b0","source":"torchvision"}""");
        var e = Assert.Throws<CheckpointException>(() => EfficientNetB0.FromCheckpoint(folder));
        Assert.Contains("model.safetensors", e.Message, StringComparison.Ordinal);

        File.WriteAllText(Path.Combine(folder, "config.json"), """{"model_type":"efficientnet_b0","width_mult":0}""");
        Assert.Contains("width_mult", Assert.Throws<CheckpointException>(() => EfficientNetB0.FromCheckpoint(folder)).Message, StringComparison.Ordinal);
    }
}
