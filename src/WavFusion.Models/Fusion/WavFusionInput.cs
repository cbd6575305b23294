using static TorchSharp.torch;
using WavFusion.Models.Layers;

namespace WavFusion.Models.Fusion;

/// <summary>
/// One batch for <see cref="WavFusionModel"/>: audio as normalised samples (<see cref="InputValues"/> (B, L)
/// with an optional <see cref="SampleMask"/>) or as cached shallow output (<see cref="Shallow"/>), exactly
/// one of the two; optional frozen RoBERTa token features <see cref="Text"/> (B, Tt, text_dim) and
/// EfficientNet frame features <see cref="Visual"/> (B, Tv, visual_dim), each with its mask.
/// </summary>
public sealed record WavFusionInput
{
    public Tensor? InputValues { get; init; }

    public Tensor? SampleMask { get; init; }

    public ShallowAudio? Shallow { get; init; }

    public ModalitySequence? Text { get; init; }

    public ModalitySequence? Visual { get; init; }

    public static WavFusionInput FromAudio(Tensor inputValues, Tensor? sampleMask = null, ModalitySequence? text = null, ModalitySequence? visual = null) =>
        new() { InputValues = inputValues, SampleMask = sampleMask, Text = text, Visual = visual };

    public static WavFusionInput FromShallow(ShallowAudio shallow, ModalitySequence? text = null, ModalitySequence? visual = null) =>
        new() { Shallow = shallow, Text = text, Visual = visual };
}
