using System.Reflection;
using TorchSharp;
using TorchSharp.Modules;
using WavFusion.Core.Tensors;
using static TorchSharp.torch;

namespace WavFusion.Tests.NativeSafety;

/// <summary>
/// Product code makes no TorchSharp Scalar temporaries (see WavFusion.Core.Tensors.Scalars for why), checked
/// on the compiled IL of every product assembly; and the audit itself is shown to catch each kind of site.
/// </summary>
public sealed class ScalarTemporaryAuditTests
{
    private static readonly string[] ProductAssemblies =
        ["WavFusion.Core", "WavFusion.Models", "WavFusion.Speech", "WavFusion.Training", "wavfusion"];

    public static TheoryData<string> Products => new(ProductAssemblies);

    [Theory]
    [MemberData(nameof(Products))]
    public void Product_assembly_makes_no_scalar_temporaries(string assemblyName)
    {
        var assembly = Assembly.Load(assemblyName);
        var sites = ScalarTemporaryAudit.ForTorchSharp.Scan(TopLevelTypes(assembly));
        Assert.True(sites.Count == 0,
            $"{assemblyName}: {sites.Count} call(s) make a Scalar temporary; hold the Scalar instead "
            + $"(WavFusion.Core.Tensors.Scalars, a module field, or a using local):\n  {string.Join("\n  ", sites)}");
    }

    [Fact]
    public void The_audit_knows_the_temporaries_TorchSharp_makes_inside()
    {
        var audit = ScalarTemporaryAudit.ForTorchSharp;
        Assert.True(audit.MakesTemporary(TensorMethod("add", typeof(Tensor))), "add(Tensor) passes an internal alpha");
        Assert.True(audit.MakesTemporary(TensorMethod("op_Addition", typeof(Tensor), typeof(Tensor))), "a + b passes an internal alpha");
        Assert.True(audit.MakesTemporary(TensorMethod("op_Multiply", typeof(Tensor), typeof(double))), "t * 0.5 converts inside");
        Assert.True(audit.MakesTemporary(typeof(TensorExtensionMethods).GetMethod("ToSingle", [typeof(Tensor)])!), "ToSingle reads a temporary");
        Assert.True(audit.HasUnsafeForward(typeof(AdamW)), "AdamW.step makes temporaries per parameter");
        Assert.True(audit.HasUnsafeForward(typeof(TorchSharp.Modules.BatchNorm2d)), "BatchNorm's training forward bumps a counter with a temporary");

        Assert.False(audit.MakesTemporary(TensorMethod("add", typeof(Tensor), typeof(Scalar))), "add(Tensor, alpha) with a held alpha is the safe form");
        Assert.False(audit.MakesTemporary(TensorMethod("op_Subtraction", typeof(Tensor), typeof(Tensor))), "a - b passes no Scalar");
        Assert.False(audit.HasUnsafeForward(typeof(Linear)), "Linear makes none");
    }

    [Fact]
    public void The_audit_catches_each_kind_of_site_in_compiled_code()
    {
        var sites = ScalarTemporaryAudit.ForTorchSharp.Scan([typeof(Specimens)]);
        string Report(string method) => string.Join("; ", sites.Where(s => s.Caller.Name.Contains(method, StringComparison.Ordinal)));

        Assert.Contains("implicit conversion", Report(nameof(Specimens.ImplicitFill)), StringComparison.Ordinal);
        Assert.Contains("op_Addition", Report(nameof(Specimens.Sum)), StringComparison.Ordinal);
        Assert.Contains("op_Multiply", Report(nameof(Specimens.Scaled)), StringComparison.Ordinal);
        Assert.Contains("AdamW", Report(nameof(Specimens.Optimiser)), StringComparison.Ordinal);
        Assert.Contains("BatchNorm2d", Report(nameof(Specimens.Norm)), StringComparison.Ordinal);
        Assert.Contains("implicit conversion", Report("Lambda"), StringComparison.Ordinal);
        Assert.DoesNotContain(sites, s => s.Caller.Name == nameof(Specimens.Held));
    }

    private static MethodBase TensorMethod(string name, params Type[] parameters) =>
        typeof(Tensor).GetMethod(name, parameters) ?? throw new MissingMethodException(nameof(Tensor), name);

    private static IEnumerable<Type> TopLevelTypes(Assembly assembly)
    {
        try { return assembly.GetTypes().Where(t => !t.IsNested); }
        catch (ReflectionTypeLoadException e) { return e.Types.Where(t => t is { IsNested: false })!; }
    }

    /// <summary>Never run: compiled code for the audit to find (tests are outside the analyzer's ban).</summary>
    private static class Specimens
    {
        public static Tensor ImplicitFill(Tensor t, Tensor mask) => t.masked_fill(mask, 1.5);

        public static Tensor Sum(Tensor a, Tensor b) => a + b;

        public static Tensor Scaled(Tensor a) => a * 0.5;

        public static IDisposable Optimiser(Linear model) => torch.optim.AdamW(model.parameters());

        public static IDisposable Norm() => nn.BatchNorm2d(4);

        public static Func<Tensor, Tensor> Lambda() => t => t.clamp_min(0.0);

        public static Tensor Held(Tensor a, Tensor b, Tensor mask)
        {
            using var fill = 1.5.ToScalar();
            return a.add(b, Scalars.One).masked_fill(mask, fill);
        }
    }
}
