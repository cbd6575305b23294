namespace WavFusion.Models.Text;

/// <summary>How the embedding layer numbers token positions.</summary>
public enum PositionIdScheme
{
    /// <summary>BERT: 0..T−1 for every row.</summary>
    Absolute,

    /// <summary>
    /// RoBERTa (fairseq heritage): real tokens count from padding_idx + 1, padding tokens get padding_idx,
    /// so left- or right-padding a row does not shift the positions of its real tokens.
    /// </summary>
    FromPadding,
}
