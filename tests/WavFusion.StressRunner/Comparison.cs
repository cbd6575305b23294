using System.Globalization;

namespace WavFusion.StressRunner;

/// <summary>The first place where two recordings of a scenario differ, or null when they are the same bits.</summary>
public static class Comparison
{
    public static string? FirstDifference(Recording quiet, Recording hammered)
    {
        if (quiet.Outputs.Count != hammered.Outputs.Count)
            return $"{quiet.Outputs.Count} outputs without the hammer, {hammered.Outputs.Count} with it";
        foreach (var (a, b) in quiet.Outputs.Zip(hammered.Outputs))
        {
            if (a.Name != b.Name) return $"output '{a.Name}' without the hammer where '{b.Name}' came with it";
            if (!a.Shape.SequenceEqual(b.Shape))
                return $"output '{a.Name}' has shape [{string.Join(", ", a.Shape)}] without the hammer, [{string.Join(", ", b.Shape)}] with it";
            for (int i = 0; i < a.Values.Length; i++)
                // Bits, not values: NaN equals NaN here and -0 differs from 0, as a changed computation would.
                if (BitConverter.SingleToInt32Bits(a.Values[i]) != BitConverter.SingleToInt32Bits(b.Values[i]))
                    return string.Create(CultureInfo.InvariantCulture,
                        $"output '{a.Name}' element {i} of {a.Values.Length}: {a.Values[i]:R} without the hammer, {b.Values[i]:R} with it");
        }
        return null;
    }
}
