using static TorchSharp.torch;

namespace WavFusion.Models.Wav2Vec2;

/// <summary>
/// What <see cref="Wav2Vec2Model.forward"/> returns. <see cref="LayerOutputs"/>[i] is transformer layer i's
/// output (for the stable family before the final LayerNorm, as torchaudio returns them);
/// <see cref="LastHiddenState"/> is HF's <c>last_hidden_state</c>. Disposing releases every tensor.
/// </summary>
public sealed record Wav2Vec2Output(Tensor ExtractFeatures, Tensor LastHiddenState, IReadOnlyList<Tensor> LayerOutputs) : IDisposable
{
    /// <summary>(B, frames) bool, True = valid frame; null when the call had no sample mask.</summary>
    public Tensor? FrameMask { get; init; }

    public void Dispose()
    {
        ExtractFeatures.Dispose();
        LastHiddenState.Dispose();
        foreach (var t in LayerOutputs) t.Dispose();
        FrameMask?.Dispose();
    }
}
