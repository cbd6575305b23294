using static TorchSharp.torch;

namespace WavFusion.Models.CrossModal;

/// <summary>Logits and probabilities (B, classes) and the fused pooled vector (B, streams·2·model_dim) the classifier saw.</summary>
public sealed record CrossModalOutput(Tensor Logits, Tensor Probabilities, Tensor Pooled) : IDisposable
{
    public void Dispose()
    {
        Logits.Dispose();
        Probabilities.Dispose();
        Pooled.Dispose();
    }
}
