using TorchSharp;

namespace WavFusion.Tests;

public sealed class TorchRuntimeTests
{
    [Fact]
    public void Libtorch_loads_and_computes_on_this_machine()
    {
        using var a = torch.arange(6, dtype: torch.float32).reshape(2, 3);
        using var b = a.matmul(a.t());
        Assert.Equal(new float[] { 5, 14, 14, 50 }, b.data<float>().ToArray());
    }
}
