using WavFusion.Media;

namespace WavFusion.Inference;

/// <summary>Square RGB face crops (each <see cref="Size"/>×<see cref="Size"/>×3 bytes, row-major) sampled from a window, in time order.</summary>
public sealed record FaceCrops(IReadOnlyList<byte[]> Rgb, int Size);

/// <summary>
/// One window to score: its 16 kHz mono audio (the primary modality, always present) and optionally what was
/// said in it and the faces seen in it, either as crops to encode or as the visual encoder's features per frame
/// (computed once per frame by the live pipeline and shared by every window containing it).
/// A missing or empty auxiliary modality takes the model's fallback path.
/// </summary>
public sealed record ScoringWindow(float[] Audio, string? Transcript = null, FaceCrops? Faces = null, IReadOnlyList<float[]>? FaceFeatures = null)
{
    public bool HasText => !string.IsNullOrWhiteSpace(Transcript);

    public bool HasFaces => Faces is { Rgb.Count: > 0 } || FaceFeatures is { Count: > 0 };

    public Modalities Modalities => Modalities.Audio | (HasText ? Modalities.Text : 0) | (HasFaces ? Modalities.Visual : 0);
}

/// <summary>The scores of one window: probabilities over the bundle's labels, in label order.</summary>
public sealed record WindowScore(IReadOnlyList<float> Probabilities, IReadOnlyList<string> Labels, Modalities Modalities)
{
    public int TopIndex
    {
        get
        {
            int top = 0;
            for (int i = 1; i < Probabilities.Count; i++) if (Probabilities[i] > Probabilities[top]) top = i;
            return top;
        }
    }

    public string TopLabel => Labels[TopIndex];
}
