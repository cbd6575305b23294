using static TorchSharp.torch;

namespace WavFusion.Models.Fusion;

/// <summary>
/// Logits and probabilities (B, classes); the margin loss's utterance vectors (with per-sample presence
/// of text and visual after modality dropout); the last layer's hidden states (B, frames, hidden) and the
/// frame mask (B, frames) used for pooling. Every tensor is the output's own; disposing releases them all.
/// </summary>
public sealed record WavFusionOutput(Tensor Logits, Tensor Probabilities, UtteranceVectors Utterances, Tensor Hidden, Tensor FrameMask)
    : IDisposable
{
    public void Dispose()
    {
        Logits.Dispose();
        Probabilities.Dispose();
        Utterances.Dispose();
        Hidden.Dispose();
        FrameMask.Dispose();
    }
}
