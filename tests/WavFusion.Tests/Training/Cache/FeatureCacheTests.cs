using TorchSharp;
using WavFusion.Tests.Infrastructure;
using WavFusion.Training.Cache;
using static TorchSharp.torch;

namespace WavFusion.Tests.Training;

public sealed class FeatureCacheTests
{
    private static Dictionary<string, Tensor> Weights(float scale) => new()
    {
        ["proj.weight"] = torch.arange(6, dtype: ScalarType.Float32).reshape(2, 3) * scale,
        ["proj.bias"] = torch.zeros(2),
    };

    [Fact]
    public void Model_hash_changes_with_any_weight_or_the_config_and_not_otherwise()
    {
        string a = FeatureCache.ModelHash(Weights(1), "{\"layers\": 9}");
        Assert.Equal(a, FeatureCache.ModelHash(Weights(1), "{\"layers\": 9}"));
        Assert.NotEqual(a, FeatureCache.ModelHash(Weights(2), "{\"layers\": 9}"));
        Assert.NotEqual(a, FeatureCache.ModelHash(Weights(1), "{\"layers\": 8}"));
        var renamed = Weights(1);
        renamed["proj.b"] = renamed["proj.bias"];
        renamed.Remove("proj.bias");
        Assert.NotEqual(a, FeatureCache.ModelHash(renamed, "{\"layers\": 9}"));
    }

    [Fact]
    public void Second_run_reads_the_cache_and_a_new_model_hash_rebuilds_it()
    {
        using var dir = new TempDir();
        int computed = 0;
        IReadOnlyDictionary<string, Tensor> Compute(int item)
        {
            computed++;
            return new Dictionary<string, Tensor> { ["hidden"] = torch.full(3, 4, item, dtype: ScalarType.Float32), ["mask"] = torch.ones(3, dtype: ScalarType.Bool) };
        }

        string model = FeatureCache.ModelHash(Weights(1), "cfg");
        var first = new FeatureCache(dir.Path);
        for (int i = 0; i < 4; i++) first.GetOrCompute("wav2vec2-shallow", model, $"item{i}", () => Compute(i));
        Assert.Equal(4, computed);
        Assert.Equal(new FeatureCacheStats(0, 4, 0), first.Stats);

        var second = new FeatureCache(dir.Path);
        for (int i = 0; i < 4; i++)
        {
            var cached = second.GetOrCompute("wav2vec2-shallow", model, $"item{i}", () => Compute(i));
            Assert.Equal(i, cached["hidden"][2, 3].item<float>());
            Assert.Equal(ScalarType.Bool, cached["mask"].dtype);
        }
        Assert.Equal(4, computed);
        Assert.Equal(new FeatureCacheStats(4, 0, 0), second.Stats);

        string retrained = FeatureCache.ModelHash(Weights(3), "cfg");
        second.GetOrCompute("wav2vec2-shallow", retrained, "item0", () => Compute(7));
        Assert.Equal(5, computed);
        Assert.Equal(1, second.Prune("wav2vec2-shallow", retrained));
        second.GetOrCompute("wav2vec2-shallow", model, "item1", () => Compute(1));
        Assert.Equal(6, computed);
    }

    [Fact]
    public void A_damaged_entry_is_recomputed_and_replaced()
    {
        using var dir = new TempDir();
        var cache = new FeatureCache(dir.Path);
        cache.GetOrCompute("roberta", "m1", "utt", () => new Dictionary<string, Tensor> { ["x"] = torch.ones(100) });
        string entry = Directory.GetFiles(dir.Path, "*.safetensors", SearchOption.AllDirectories).Single();
        var bytes = File.ReadAllBytes(entry);
        File.WriteAllBytes(entry, bytes[..(bytes.Length / 2)]);

        var again = new FeatureCache(dir.Path);
        var x = again.GetOrCompute("roberta", "m1", "utt", () => new Dictionary<string, Tensor> { ["x"] = torch.full(100, 2f) });
        Assert.Equal(2f, x["x"][0].item<float>());
        Assert.Equal(new FeatureCacheStats(0, 1, 1), again.Stats);
        Assert.Equal(2f, new FeatureCache(dir.Path).GetOrCompute("roberta", "m1", "utt", () => throw new InvalidOperationException("should hit"))["x"][5].item<float>());
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp", SearchOption.AllDirectories));
    }
}
