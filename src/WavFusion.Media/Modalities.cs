namespace WavFusion.Media;

/// <summary>The modalities that informed a result.</summary>
[Flags]
public enum Modalities
{
    None = 0,
    Audio = 1,
    Text = 2,
    Visual = 4,
}
