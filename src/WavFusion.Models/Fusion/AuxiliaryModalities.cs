using static TorchSharp.torch;
using WavFusion.Models.Layers;

namespace WavFusion.Models.Fusion;

/// <summary>
/// The auxiliary streams the audio attends to in a deep layer: encoded text X^t and visual X^v, each
/// absent for the whole batch (null) or per sample (mask row all false).
/// </summary>
public sealed record AuxiliaryModalities(ModalitySequence? Text, ModalitySequence? Visual)
{
    public static AuxiliaryModalities None { get; } = new(null, null);

    /// <summary>(B) bool per stream: false where the stream is null or the sample's mask is empty.</summary>
    public (Tensor Text, Tensor Visual) Presence(long batch, Device device) =>
        (Text?.Present() ?? zeros(batch, dtype: ScalarType.Bool, device: device),
         Visual?.Present() ?? zeros(batch, dtype: ScalarType.Bool, device: device));
}
