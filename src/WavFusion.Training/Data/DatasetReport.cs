using System.Globalization;
using System.Text;

namespace WavFusion.Training.Data;

/// <summary>One thing a reader could not use: an item id, or "file:line" for a malformed line, and why.</summary>
public sealed record DatasetProblem(string Name, string Reason)
{
    public override string ToString() => $"{Name}: {Reason}";
}

/// <summary>
/// What a reader accepted and what it had to leave out. Skipped items (missing or broken audio, malformed
/// lines, unknown labels) are counted, and the first <see cref="MaxListed"/> are kept with their reason, so
/// that a broken download shows up in the first lines of a training log instead of as a silently smaller corpus.
/// Warnings are problems that did not cost an item (e.g. no dialogue video, so the item has audio and text only).
/// Labels a protocol leaves out by design (IEMOCAP's xxx, oth, ...) are counted per label, not as problems.
/// </summary>
public sealed class DatasetReport
{
    public const int MaxListed = 20;

    private readonly List<DatasetProblem> _skipped = [];
    private readonly List<DatasetProblem> _warnings = [];
    private readonly SortedDictionary<string, int> _excluded = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, int> _accepted = new(StringComparer.Ordinal);

    public DatasetReport(string corpus, string root)
    {
        Corpus = corpus;
        Root = root;
    }

    public string Corpus { get; }

    public string Root { get; }

    public int AcceptedCount { get; private set; }

    public int SkippedCount { get; private set; }

    public int WarningCount { get; private set; }

    /// <summary>The first skipped items, in the order they were met.</summary>
    public IReadOnlyList<DatasetProblem> Skipped => _skipped;

    public IReadOnlyList<DatasetProblem> Warnings => _warnings;

    /// <summary>Accepted items per label name.</summary>
    public IReadOnlyDictionary<string, int> AcceptedByLabel => _accepted;

    /// <summary>Items left out by the protocol's label choice, per original label.</summary>
    public IReadOnlyDictionary<string, int> ExcludedByLabel => _excluded;

    public int ExcludedCount => _excluded.Values.Sum();

    public void Accept(string label)
    {
        AcceptedCount++;
        _accepted[label] = _accepted.GetValueOrDefault(label) + 1;
    }

    public void Skip(string name, string reason)
    {
        SkippedCount++;
        if (_skipped.Count < MaxListed) _skipped.Add(new DatasetProblem(name, reason));
    }

    public void Warn(string name, string reason)
    {
        WarningCount++;
        if (_warnings.Count < MaxListed) _warnings.Add(new DatasetProblem(name, reason));
    }

    public void Exclude(string label) => _excluded[label] = _excluded.GetValueOrDefault(label) + 1;

    /// <summary>A few lines for a log: counts, per-label counts and the first problems.</summary>
    public string Summary()
    {
        var ci = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(ci, $"{Corpus} ({Root}): {AcceptedCount} items accepted");
        if (_accepted.Count > 0) sb.Append(" (").AppendJoin(", ", _accepted.Select(kv => $"{kv.Key} {kv.Value}")).Append(')');
        sb.AppendLine();
        if (_excluded.Count > 0)
            sb.Append(ci, $"  {ExcludedCount} excluded by the protocol's labels: ").AppendJoin(", ", _excluded.Select(kv => $"{kv.Key} {kv.Value}")).AppendLine();
        AppendProblems(sb, "skipped", SkippedCount, _skipped);
        AppendProblems(sb, "warnings", WarningCount, _warnings);
        return sb.ToString();
    }

    public override string ToString() => Summary();

    private static void AppendProblems(StringBuilder sb, string what, int count, List<DatasetProblem> listed)
    {
        if (count == 0) return;
        sb.Append(CultureInfo.InvariantCulture, $"  {count} {what}");
        sb.AppendLine(count > listed.Count ? $" (first {listed.Count}):" : ":");
        foreach (var p in listed) sb.Append("    ").AppendLine(p.ToString());
    }
}
