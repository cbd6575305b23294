namespace WavFusion.Models.Branches;

/// <summary>The text branch's sizes as configured (<c>text_dim</c>, <c>text_gru_hidden</c>, <c>text_heads</c>).</summary>
public sealed record TextBranchConfig(int Dim, int GruHidden, int Heads)
{
    /// <summary>Width of the branch's output: the bidirectional GRU's two directions.</summary>
    public int Width => 2 * GruHidden;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first field that cannot build the branch.</summary>
    public void Validate()
    {
        ConfigChecks.Positive(Dim, "text_dim");
        ConfigChecks.Positive(GruHidden, "text_gru_hidden");
        ConfigChecks.Divides(Width, Heads, "text_heads", "2·text_gru_hidden");
    }
}
