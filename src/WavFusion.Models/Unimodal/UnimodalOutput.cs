using static TorchSharp.torch;

namespace WavFusion.Models.Unimodal;

/// <summary>Logits and probabilities (B, classes) and the pooled utterance vector (B, branch width) the classifier saw.</summary>
public sealed record UnimodalOutput(Tensor Logits, Tensor Probabilities, Tensor Pooled) : IDisposable
{
    public void Dispose()
    {
        Logits.Dispose();
        Probabilities.Dispose();
        Pooled.Dispose();
    }
}
