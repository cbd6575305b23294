namespace WavFusion.Models.Whisper;

/// <summary>The eleven int32 hyper-parameters at the start of a whisper.cpp ggml file.</summary>
public sealed record WhisperGgmlHparams(
    int NVocab, int NAudioCtx, int NAudioState, int NAudioHead, int NAudioLayer,
    int NTextCtx, int NTextState, int NTextHead, int NTextLayer, int NMels, int FType)
{
    /// <summary>Quantised files store 1000·(quantisation version) + ftype.</summary>
    public int BaseFType => FType % 1000;

    /// <summary>
    /// The element type of the 2-D weights. ftype is ggml's <c>ggml_ftype</c>, whose numbering differs
    /// from the tensor types' (Q8_0 is ftype 7 but type 8); null for an ftype this loader does not know.
    /// </summary>
    public GgmlType? WeightType => BaseFType switch
    {
        0 => GgmlType.F32,
        1 => GgmlType.F16,
        2 => GgmlType.Q4_0,
        3 => GgmlType.Q4_1,
        7 => GgmlType.Q8_0,
        8 => GgmlType.Q5_0,
        9 => GgmlType.Q5_1,
        _ => null,
    };

    public WhisperConfig ToConfig(string source)
    {
        if (NAudioState != NTextState)
            throw new InvalidDataException($"{source}: n_audio_state {NAudioState} differs from n_text_state {NTextState}; Whisper shares one width");
        if (NVocab is < 51864 or > 51866)
            throw new InvalidDataException($"{source}: n_vocab {NVocab} is not a Whisper vocabulary (51864 English-only, 51865 multilingual, 51866 v3)");
        var config = new WhisperConfig
        {
            NumMelBins = NMels,
            MaxSourcePositions = NAudioCtx,
            DModel = NAudioState,
            EncoderAttentionHeads = NAudioHead,
            EncoderLayers = NAudioLayer,
            EncoderFfnDim = 4 * NAudioState,
            DecoderAttentionHeads = NTextHead,
            DecoderLayers = NTextLayer,
            DecoderFfnDim = 4 * NTextState,
            VocabSize = NVocab,
            MaxTargetPositions = NTextCtx,
        };
        var tokens = WhisperSpecialTokens.ForVocabulary(NVocab);
        config.DecoderStartTokenId = tokens.StartOfTranscript;
        config.EosTokenId = tokens.EndOfText;
        config.PadTokenId = tokens.EndOfText;
        config.Validate(source);
        return config;
    }
}
