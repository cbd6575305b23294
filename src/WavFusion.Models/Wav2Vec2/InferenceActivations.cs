using TorchSharp;
using static TorchSharp.torch;

namespace WavFusion.Models.Wav2Vec2;

/// <summary>Activations that reuse their input's memory when no gradient is recorded.</summary>
internal static class InferenceActivations
{
    /// <summary>
    /// Exact (erf) GELU. Without autograd it overwrites <paramref name="x"/>, which must then be a temporary the
    /// caller owns (a fresh conv, norm or linear output), so inference allocates no fresh activation per GELU.
    /// With autograd on it allocates, since GELU's backward needs its input.
    /// </summary>
    public static Tensor Gelu(Tensor x) => torch.is_grad_enabled() ? nn.functional.gelu(x) : x.gelu_();
}
