using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.Text;
using WavFusion.Tests.Infrastructure;
using WavFusion.Tests.Parity;
using static TorchSharp.torch;

namespace WavFusion.Tests.Text;

/// <summary>torch.set_default_device is process-wide, so the tests that build on the meta device run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetaDeviceCollection
{
    public const string Name = "meta device (process-wide default device)";
}

/// <summary>
/// Full-size roberta-base and bert-base-uncased state dicts against the public layout, built on the meta
/// device so no weights are allocated.
/// </summary>
[Collection(MetaDeviceCollection.Name)]
public sealed class TextModelLayoutTests
{
    private static SortedDictionary<string, long[]> BuildOnMeta(Func<TextEncoderModel> build)
    {
        var previous = torch.get_default_device();
        torch.set_default_device(torch.META);
        try
        {
            using var model = build();
            var dict = model.state_dict();
            Assert.All(dict.Values, t => Assert.Equal(DeviceType.META, t.device_type));
            return new SortedDictionary<string, long[]>(dict.ToDictionary(kv => kv.Key, kv => kv.Value.shape), StringComparer.Ordinal);
        }
        finally
        {
            torch.set_default_device(previous);
        }
    }

    private static void AssertSameLayout(SortedDictionary<string, long[]> expected, SortedDictionary<string, long[]> actual)
    {
        var missing = expected.Keys.Except(actual.Keys).ToList();
        var extra = actual.Keys.Except(expected.Keys).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0,
            $"missing: {string.Join(", ", missing)}; unexpected: {string.Join(", ", extra)}");
        foreach (var (key, shape) in expected)
            Assert.True(shape.SequenceEqual(actual[key]), $"{key}: [{string.Join(", ", actual[key])}] but the public layout has [{string.Join(", ", shape)}]");
    }

    [Fact]
    public void Roberta_base_state_dict_is_the_public_RobertaModel_layout()
    {
        var config = RobertaConfig.Base();
        var actual = BuildOnMeta(() => new RobertaModel(config));
        AssertSameLayout(ExpectedTextLayout.For(config), actual);
        Assert.Equal(5 + 12 * 16 + 2, actual.Count);
        Assert.Equal([50265L, 768], actual["embeddings.word_embeddings.weight"]);
        Assert.Equal([514L, 768], actual["embeddings.position_embeddings.weight"]);
        Assert.Equal([1L, 768], actual["embeddings.token_type_embeddings.weight"]);
        // RobertaModel.from_pretrained("roberta-base").num_parameters()
        Assert.Equal(124_645_632L, actual.Values.Sum(s => s.Aggregate(1L, (a, b) => a * b)));
    }

    [Fact]
    public void Bert_base_uncased_state_dict_is_the_public_BertModel_layout()
    {
        var config = BertConfig.BaseUncased();
        var actual = BuildOnMeta(() => new BertModel(config));
        AssertSameLayout(ExpectedTextLayout.For(config), actual);
        Assert.Equal([30522L, 768], actual["embeddings.word_embeddings.weight"]);
        Assert.Equal([2L, 768], actual["embeddings.token_type_embeddings.weight"]);
        Assert.Equal([3072L, 768], actual["encoder.layer.11.intermediate.dense.weight"]);
        // BertModel.from_pretrained("bert-base-uncased").num_parameters()
        Assert.Equal(109_482_240L, actual.Values.Sum(s => s.Aggregate(1L, (a, b) => a * b)));
    }

    [Fact]
    public void Small_instance_on_the_cpu_has_the_same_layout_as_the_table()
    {
        var config = TextCheckpointFiles.SmallBert(layers: 3);
        using var model = new BertModel(config);
        var actual = new SortedDictionary<string, long[]>(model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape), StringComparer.Ordinal);
        AssertSameLayout(ExpectedTextLayout.For(config), actual);
    }

    [SkippableFact]
    public void Reference_roberta_checkpoints_hold_the_table_keys_under_the_roberta_prefix()
    {
        var fixtures = ReferenceFixture.Discover().Where(f => f.Kind == "roberta").ToList();
        Skip.If(fixtures.Count == 0, $"no roberta fixture under {RepoPaths.ReferenceFixtures}");
        foreach (var fixture in fixtures)
        {
            var config = RobertaConfig.Load(fixture.File("config.json"));
            using var file = SafeTensorsFile.Open(fixture.File("model.safetensors"));
            var keys = file.Entries.Keys
                .Where(k => !KnownOptionalKeys.IsIgnorable(k))
                .Select(k => k.StartsWith(RobertaModel.CheckpointPrefix, StringComparison.Ordinal) ? k[RobertaModel.CheckpointPrefix.Length..] : k)
                .ToHashSet(StringComparer.Ordinal);
            bool pooler = keys.Contains("pooler.dense.weight");
            var expected = ExpectedTextLayout.For(config, withPooler: pooler);
            Assert.Equal(expected.Keys.ToHashSet(StringComparer.Ordinal), keys);
            foreach (var (key, shape) in expected)
            {
                string stored = file.Entries.ContainsKey(RobertaModel.CheckpointPrefix + key) ? RobertaModel.CheckpointPrefix + key : key;
                Assert.Equal(shape, file.Entries[stored].Shape);
            }
        }
    }
}
