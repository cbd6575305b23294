using System.Reflection;
using System.Text.Json;
using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Tests.Infrastructure;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace WavFusion.Tests.Parity;

/// <summary>One folder of reference data, identified by its config.json model_type or its metrics.json.</summary>
public sealed record ReferenceFixture(string Folder, string Kind)
{
    public string Name => System.IO.Path.GetFileName(Folder);
    public string File(string name) => System.IO.Path.Combine(Folder, name);
    public override string ToString() => $"{Kind}: {Name}";

    /// <summary>Every fixture folder under the reference directory, sorted by name.</summary>
    public static IReadOnlyList<ReferenceFixture> Discover()
    {
        string root = RepoPaths.ReferenceFixtures;
        if (!Directory.Exists(root)) return [];
        var list = new List<ReferenceFixture>();
        foreach (var dir in Directory.GetDirectories(root).OrderBy(d => d, StringComparer.Ordinal))
        {
            string config = System.IO.Path.Combine(dir, "config.json");
            if (System.IO.File.Exists(config))
            {
                using var doc = JsonDocument.Parse(System.IO.File.ReadAllText(config));
                string kind = doc.RootElement.TryGetProperty("model_type", out var mt) ? mt.GetString() ?? "?" : "?";
                list.Add(new ReferenceFixture(dir, kind));
            }
            else if (System.IO.File.Exists(System.IO.Path.Combine(dir, "metrics.json")))
                list.Add(new ReferenceFixture(dir, "metrics"));
        }
        return list;
    }
}

/// <summary>Checks one kind of reference fixture. Implementations are found by reflection, one per Kind.</summary>
public interface IReferenceFixtureChecker
{
    string Kind { get; }
    /// <summary>Checks every reference tensor of the fixture; throws (assertion) on any mismatch.</summary>
    void Check(ReferenceFixture fixture, ITestOutputHelper log);
}

public static class FixtureCheckers
{
    public static IReadOnlyDictionary<string, IReferenceFixtureChecker> All { get; } =
        typeof(FixtureCheckers).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && typeof(IReferenceFixtureChecker).IsAssignableFrom(t))
            .Select(t => (IReferenceFixtureChecker)Activator.CreateInstance(t)!)
            .ToDictionary(c => c.Kind, StringComparer.Ordinal);
}

public static class Close
{
    /// <summary>Asserts max |expected − actual| ≤ atol, naming the tensor and the worst element.</summary>
    public static double Assert(Tensor expected, Tensor actual, double atol, string what, ITestOutputHelper? log = null)
    {
        Xunit.Assert.True(expected.shape.SequenceEqual(actual.shape),
            $"{what}: shape [{string.Join(", ", actual.shape)}] but reference is [{string.Join(", ", expected.shape)}]");
        using var scope = torch.NewDisposeScope();
        var diff = (expected.to(ScalarType.Float64) - actual.to(ScalarType.Float64)).abs();
        double max = diff.numel() == 0 ? 0 : diff.max().item<double>();
        log?.WriteLine($"  {what}: max |diff| = {max:E2} (tolerance {atol:E0})");
        Xunit.Assert.True(max <= atol, $"{what}: max |diff| {max:E3} exceeds {atol:E0} at flat index {diff.flatten().argmax().item<long>()}");
        return max;
    }

    /// <summary>Loads io.safetensors of a fixture as float tensors by name.</summary>
    public static Dictionary<string, Tensor> ReadIo(ReferenceFixture fixture)
    {
        using var f = SafeTensorsFile.Open(fixture.File("io.safetensors"));
        return f.ReadAll();
    }
}
