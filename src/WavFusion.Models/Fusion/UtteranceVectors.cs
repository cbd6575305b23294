using static TorchSharp.torch;

namespace WavFusion.Models.Fusion;

/// <summary>
/// Mean-pooled unfused features per modality, the inputs of the margin loss: audio (B, Da) always;
/// text (B, Dt) and visual (B, Dv) null when the batch has none, and their (B) bool presence per sample.
/// </summary>
public sealed record UtteranceVectors(Tensor Audio, Tensor? Text, Tensor? TextPresent, Tensor? Visual, Tensor? VisualPresent) : IDisposable
{
    public void Dispose()
    {
        Audio.Dispose();
        Text?.Dispose();
        TextPresent?.Dispose();
        Visual?.Dispose();
        VisualPresent?.Dispose();
    }
}
