using static TorchSharp.torch;

namespace WavFusion.Models.Fusion;

/// <summary>L = CE + λ·L_mar, with both terms kept for logging.</summary>
public sealed record WavFusionLoss(Tensor Total, Tensor CrossEntropy, Tensor Margin) : IDisposable
{
    public void Dispose()
    {
        Total.Dispose();
        CrossEntropy.Dispose();
        Margin.Dispose();
    }
}
