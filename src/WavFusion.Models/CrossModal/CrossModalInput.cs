using WavFusion.Models.Layers;

namespace WavFusion.Models.CrossModal;

/// <summary>Frozen wav2vec2 frame features (B, Ta, audio_dim) and BERT token features (B, Tt, text_dim) with their masks.</summary>
public sealed record CrossModalInput(ModalitySequence? Audio, ModalitySequence? Text);
