using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.Vision;
using WavFusion.Tests.Parity;
using static TorchSharp.torch;

namespace WavFusion.Tests.Vision;

public sealed class EfficientNetLayoutTests
{
    [Fact]
    public void Parameter_count_block_count_and_landmark_shapes_match_torchvision_b0()
    {
        using var model = new EfficientNetB0();
        Assert.Equal(5_288_548, model.parameters().Sum(p => p.numel()));

        var state = model.state_dict();
        // 49 BatchNorms: stem, head, two in the non-expanding first block, three in each of the other 15.
        Assert.Equal(49, state.Keys.Count(k => k.EndsWith("num_batches_tracked", StringComparison.Ordinal)));
        Assert.Equal(311, state.Count - 49);

        var blocks = model.modules().OfType<MBConv>().ToList();
        Assert.Equal(16, blocks.Count);
        Assert.Equal(9, blocks.Count(b => b.UsesResidual));
        Assert.Equal(0.0, blocks[0].StochasticDepthProbability);
        Assert.Equal(0.2 * 15 / 16, blocks[^1].StochasticDepthProbability, 12);

        var expected = new Dictionary<string, long[]>
        {
            ["features.0.0.weight"] = [32, 3, 3, 3],
            ["features.1.0.block.0.0.weight"] = [32, 1, 3, 3],
            ["features.1.0.block.1.fc1.weight"] = [8, 32, 1, 1],
            ["features.1.0.block.2.0.weight"] = [16, 32, 1, 1],
            ["features.2.0.block.0.0.weight"] = [96, 16, 1, 1],
            ["features.2.0.block.2.fc1.bias"] = [4],
            ["features.3.1.block.1.0.weight"] = [240, 1, 5, 5],
            ["features.6.3.block.2.fc2.weight"] = [1152, 48, 1, 1],
            ["features.7.0.block.3.0.weight"] = [320, 1152, 1, 1],
            ["features.8.0.weight"] = [1280, 320, 1, 1],
            ["features.8.1.running_var"] = [1280],
            ["classifier.1.weight"] = [1000, 1280],
            ["classifier.1.bias"] = [1000],
        };
        foreach (var (key, shape) in expected)
        {
            Assert.True(state.ContainsKey(key), $"missing {key}");
            Assert.Equal(shape, state[key].shape);
        }
    }

    [SkippableFact]
    public void State_dict_lists_exactly_the_keys_and_shapes_of_the_torchvision_reference_checkpoint()
    {
        var fixture = ReferenceFixture.Discover().FirstOrDefault(f => f.Kind == "efficientnet_b0"
            && EfficientNetConfig.Load(f.File("config.json")) is { Source: "torchvision" or null });
        Skip.If(fixture is null, "no torchvision-named efficientnet_b0 reference fixture");
        using var file = SafeTensorsFile.Open(fixture.File("model.safetensors"));
        int classes = checked((int)file.Entries["classifier.1.weight"].Shape[0]);

        using var model = new EfficientNetB0(classes);
        var ours = model.state_dict().Where(kv => !kv.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        var theirs = file.Entries.Values.Where(e => !e.Name.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            .ToDictionary(e => e.Name, e => e.Shape);

        Assert.Empty(theirs.Keys.Except(ours.Keys));
        Assert.Empty(ours.Keys.Except(theirs.Keys));
        foreach (var (key, shape) in theirs) Assert.True(shape.SequenceEqual(ours[key]), $"{key}: ours [{string.Join(", ", ours[key])}], reference [{string.Join(", ", shape)}]");
    }

    [Fact]
    public void Timm_key_map_round_trips_every_key_onto_distinct_timm_names()
    {
        using var model = new EfficientNetB0();
        var timm = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in model.state_dict().Keys)
        {
            string? t = EfficientNetKeyMap.TorchvisionToTimm(key);
            Assert.True(t is not null, $"no timm name for {key}");
            Assert.True(timm.Add(t), $"{key} maps onto {t}, already taken");
            Assert.Equal(key, EfficientNetKeyMap.TimmToTorchvision(t));
        }

        (string Ours, string Timm)[] landmarks =
        [
            ("features.0.0.weight", "conv_stem.weight"),
            ("features.0.1.num_batches_tracked", "bn1.num_batches_tracked"),
            ("features.1.0.block.0.0.weight", "blocks.0.0.conv_dw.weight"),
            ("features.1.0.block.1.fc1.bias", "blocks.0.0.se.conv_reduce.bias"),
            ("features.1.0.block.2.1.running_var", "blocks.0.0.bn2.running_var"),
            ("features.2.1.block.0.0.weight", "blocks.1.1.conv_pw.weight"),
            ("features.2.1.block.1.1.bias", "blocks.1.1.bn2.bias"),
            ("features.4.2.block.3.0.weight", "blocks.3.2.conv_pwl.weight"),
            ("features.7.0.block.2.fc2.bias", "blocks.6.0.se.conv_expand.bias"),
            ("features.7.0.block.3.1.running_mean", "blocks.6.0.bn3.running_mean"),
            ("features.8.0.weight", "conv_head.weight"),
            ("features.8.1.weight", "bn2.weight"),
            ("classifier.1.bias", "classifier.bias"),
        ];
        foreach (var (ours, t) in landmarks) Assert.Equal(t, EfficientNetKeyMap.TorchvisionToTimm(ours));
    }

    [Theory]
    [InlineData("blocks.7.0.conv_pw.weight")]      // B0 has 7 stages
    [InlineData("blocks.0.0.conv_pwl.weight")]     // the depthwise-separable first stage has no pwl
    [InlineData("blocks.1.0.bn4.weight")]
    [InlineData("head.fc.weight")]
    [InlineData("weight")]
    public void Keys_outside_timm_b0_have_no_mapping(string timmKey) =>
        Assert.Null(EfficientNetKeyMap.TimmToTorchvision(timmKey));

    [Fact]
    public void Detect_tells_the_namings_apart_and_names_foreign_keys()
    {
        Assert.Equal(EfficientNetKeyNaming.Torchvision, EfficientNetKeyMap.Detect(["features.0.0.weight", "classifier.1.bias"], "x"));
        Assert.Equal(EfficientNetKeyNaming.Timm, EfficientNetKeyMap.Detect(["conv_stem.weight", "blocks.0.0.conv_dw.weight"], "x"));
        var neither = Assert.Throws<CheckpointException>(() => EfficientNetKeyMap.Detect(["backbone.stem.weight", "fc.bias"], "ckpt"));
        Assert.Contains("backbone.stem.weight", neither.Message);
        Assert.Contains("fc.bias", neither.Message);
        var mixed = Assert.Throws<CheckpointException>(() => EfficientNetKeyMap.Detect(["features.0.0.weight", "blocks.0.0.conv_dw.weight"], "ckpt"));
        Assert.Contains("blocks.0.0.conv_dw.weight", mixed.Message);
    }
}
