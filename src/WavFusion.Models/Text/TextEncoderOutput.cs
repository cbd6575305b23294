using static TorchSharp.torch;

namespace WavFusion.Models.Text;

/// <summary>
/// Encoder outputs in the Hugging Face layout: <see cref="HiddenStates"/>[0] is the embedding output and
/// [i] the output of layer i; <see cref="LastHiddenState"/> is the last of them. All (B, T, H).
/// </summary>
public sealed record TextEncoderOutput(Tensor LastHiddenState, IReadOnlyList<Tensor> HiddenStates) : IDisposable
{
    public void Dispose()
    {
        foreach (var h in HiddenStates) h.Dispose();
    }
}
