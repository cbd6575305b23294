using WavFusion.Core.Quantization;
using WavFusion.Live.Pipeline;
using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Live;

/// <summary>The asr section of config/live.json: how our Whisper port holds its decoder's weights.</summary>
public sealed class LiveOptionsAsrTests
{
    [Fact]
    public void The_bundled_config_keeps_float32_and_a_file_can_choose_int8()
    {
        var bundled = LiveOptions.Load(Path.Combine(RepoPaths.Root, "config", "live.json"));
        Assert.Equal(WeightFormat.Fp32, bundled.Asr.WeightFormat);
        using var dir = new TempDir();
        File.WriteAllText(dir.File("live.json"), """{ "asr": { "weights": "int8" } }""");
        Assert.Equal(WeightFormat.Int8, LiveOptions.Load(dir.File("live.json")).Asr.WeightFormat);
    }

    [Fact]
    public void An_unknown_weight_format_names_the_file_and_the_field()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("live.json"), """{ "asr": { "weights": "int4" } }""");
        var e = Assert.Throws<InvalidDataException>(() => LiveOptions.Load(dir.File("live.json")));
        Assert.Contains("live.json: asr.weights must be one of fp32, f16, int8, got 'int4'", e.Message, StringComparison.Ordinal);
        File.WriteAllText(dir.File("typo.json"), """{ "asr": { "weight": "int8" } }""");
        Assert.Contains("weight", Assert.Throws<InvalidDataException>(() => LiveOptions.Load(dir.File("typo.json"))).Message, StringComparison.Ordinal);
    }
}
