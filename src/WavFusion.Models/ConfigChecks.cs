namespace WavFusion.Models;

/// <summary>The checks model configurations share; each names the JSON field it rejects.</summary>
internal static class ConfigChecks
{
    public static void Positive(int value, string field)
    {
        if (value <= 0) throw new ArgumentException($"{field} must be positive; got {value}");
    }

    public static void Divides(int width, int heads, string field, string widthName)
    {
        if (heads <= 0 || width % heads != 0)
            throw new ArgumentException($"{field} ({heads}) must be a positive divisor of {widthName} ({width})");
    }

    public static void Probability(double p, string field)
    {
        if (p is < 0 or > 1 || double.IsNaN(p)) throw new ArgumentException($"{field} must lie in [0, 1]; got {p}");
    }

    public static void LabelNames(IReadOnlyList<string> labels)
    {
        if (labels.Count < 2) throw new ArgumentException($"label_names needs at least two classes; got {labels.Count}");
        if (labels.Distinct(StringComparer.Ordinal).Count() != labels.Count)
            throw new ArgumentException($"label_names has duplicates: {string.Join(", ", labels)}");
    }
}
