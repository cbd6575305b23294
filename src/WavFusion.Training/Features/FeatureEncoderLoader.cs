using static TorchSharp.torch;

namespace WavFusion.Training.Features;

/// <summary>TEMPORARY stub of the feat/features contract (CONTRACTS-3.md); the lead takes that branch's file at merge.</summary>
public static class FeatureEncoderLoader
{
    public static ITextFeatureEncoder LoadText(string folder, Device? device = null) => throw new NotImplementedException("feat/features");

    public static IVisualFeatureEncoder LoadVisual(string folder, Device? device = null) => throw new NotImplementedException("feat/features");
}
