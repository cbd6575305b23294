using static TorchSharp.torch;

namespace WavFusion.Models.Fusion;

/// <summary>
/// The frozen part's output X^a: wav2vec2 feature encoder + shallow layers, (B, frames, hidden), with the
/// frame mask (B, frames) (null = every frame valid). This is what the feature cache stores.
/// </summary>
public sealed record ShallowAudio(Tensor Hidden, Tensor? FrameMask) : IDisposable
{
    public void Dispose()
    {
        Hidden.Dispose();
        FrameMask?.Dispose();
    }
}
