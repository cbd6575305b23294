using System.Text.Json;
using System.Text.Json.Nodes;
using WavFusion.Models.Branches;
using WavFusion.Models.Fusion;
using WavFusion.Models.Unimodal;
using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Fusion;

public sealed class BranchConfigTests
{
    [Fact]
    public void WavFusion_config_writes_the_keys_of_the_bundled_checkpoint_in_the_same_order()
    {
        var bundled = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "models", "wavfusion-demo", "checkpoint.json")))!["config"]!.AsObject();
        var written = JsonNode.Parse(WavFusionConfig.Base().ToJson())!.AsObject();
        Assert.Equal(bundled.Select(p => p.Key), written.Select(p => p.Key));
    }

    [Fact]
    public void Bundled_checkpoint_config_reads_back_to_the_same_json()
    {
        var bundled = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "models", "wavfusion-demo", "checkpoint.json")))!["config"]!.AsObject();
        var config = bundled.Deserialize<WavFusionConfig>()!;
        config.Validate();
        Assert.True(JsonNode.DeepEquals(bundled, JsonNode.Parse(config.ToJson())), config.ToJson());
    }

    [Fact]
    public void Unimodal_config_keeps_its_flat_key_order()
    {
        var written = JsonNode.Parse(new UnimodalConfig().ToJson())!.AsObject();
        Assert.Equal(
            [
                "stream", "text_dim", "text_gru_hidden", "text_heads",
                "visual_dim", "visual_gru_hidden", "visual_gru_bidirectional", "visual_heads",
                "use_lvc", "lvc_codes", "lvc_channels", "lvc_bottleneck", "lvc_output_dim",
                "branch_dropout", "classifier_dropout", "label_names",
            ],
            written.Select(p => p.Key));
    }

    [Theory]
    [InlineData("text_heads", """{ "text_gru_hidden": 5, "text_heads": 4 }""")]
    [InlineData("text_dim", """{ "text_dim": 0 }""")]
    [InlineData("visual_heads", """{ "stream": "visual", "visual_gru_hidden": 3, "visual_heads": 4 }""")]
    [InlineData("lvc_codes", """{ "stream": "visual", "lvc_codes": 0 }""")]
    public void Unimodal_branch_errors_name_the_flat_field(string field, string json)
    {
        var config = JsonSerializer.Deserialize<UnimodalConfig>(json)!;
        var error = Assert.Throws<ArgumentException>(config.Validate);
        Assert.StartsWith(field, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WavFusion_and_unimodal_configs_check_a_branch_alike()
    {
        var wavFusion = WavFusionConfig.Base() with { VisualHeads = 5 };
        var unimodal = new UnimodalConfig { Stream = UnimodalStream.Visual, VisualHeads = 5 };
        Assert.Equal(Assert.Throws<ArgumentException>(wavFusion.Validate).Message, Assert.Throws<ArgumentException>(unimodal.Validate).Message);
    }

    [Fact]
    public void Lvc_sizes_are_not_checked_when_the_lvc_is_off()
    {
        var visual = new VisualBranchConfig(8, 4, true, 2, UseLvc: false, 0, 0, 0, 0);
        visual.Validate();
        Assert.Equal(8, visual.Width);
    }
}
