using static TorchSharp.torch;

namespace WavFusion.Tests.Infrastructure;

public static class TensorExtensions
{
    /// <summary>Same shape and exactly equal elements (dtype may differ).</summary>
    public static bool Same(this Tensor a, Tensor b)
    {
        if (!a.shape.SequenceEqual(b.shape)) return false;
        if (a.numel() == 0) return true;
        using var eq = a.to(ScalarType.Float64).eq(b.to(ScalarType.Float64));
        using var all = eq.all();
        return all.item<bool>();
    }
}
