using System.Text.RegularExpressions;
using System.Xml.Linq;
using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Architecture;

/// <summary>
/// docs/architecture.md states which project may reference which; the projects' ProjectReferences must obey it,
/// and every project under src/ must be in it.
/// </summary>
public sealed partial class ProjectReferenceTests
{
    private static string Doc => Path.Combine(RepoPaths.Root, "docs", "architecture.md");

    [Fact]
    public void Every_project_reference_is_allowed_by_the_architecture_document()
    {
        var allowed = AllowedReferences(File.ReadAllText(Doc));
        var actual = ActualReferences();
        Assert.Equal(actual.Keys.Order(), allowed.Keys.Order());
        var violations = actual.SelectMany(p => p.Value.Where(r => !allowed[p.Key].Contains(r)).Select(r => $"{p.Key} → {r}")).ToList();
        Assert.True(violations.Count == 0, $"references docs/architecture.md does not allow: {string.Join(", ", violations)}");
    }

    [Fact]
    public void The_rules_refuse_inference_or_media_depending_upward()
    {
        var allowed = AllowedReferences(File.ReadAllText(Doc));
        Assert.Contains("WavFusion.Inference", allowed["WavFusion.Training"]);
        Assert.DoesNotContain("WavFusion.Training", allowed["WavFusion.Inference"]);
        Assert.DoesNotContain("WavFusion.Cli", allowed["WavFusion.Inference"]);
        Assert.Empty(allowed["WavFusion.Media"]);
    }

    [Fact]
    public void Media_contracts_carry_no_TorchSharp()
    {
        var project = XDocument.Load(Path.Combine(RepoPaths.Root, "src", "WavFusion.Media", "WavFusion.Media.csproj"));
        Assert.Empty(project.Descendants("PackageReference"));
        Assert.Empty(project.Descendants("ProjectReference"));
        var media = typeof(WavFusion.Media.AudioChunk).Assembly;
        Assert.DoesNotContain(media.GetReferencedAssemblies(), a => a.Name!.StartsWith("TorchSharp", StringComparison.Ordinal));
    }

    /// <summary>The table between the project-references markers: project → the projects it may reference.</summary>
    private static Dictionary<string, HashSet<string>> AllowedReferences(string markdown)
    {
        var table = TableBetweenMarkers().Match(markdown);
        Assert.True(table.Success, "docs/architecture.md has no project-references table between its markers");
        var rules = new Dictionary<string, HashSet<string>>();
        foreach (var line in table.Groups[1].Value.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("| WavFusion.", StringComparison.Ordinal)))
        {
            var cells = line.Trim('|').Split('|').Select(c => c.Trim()).ToArray();
            rules[cells[0]] = cells[1] == "(none)" ? [] : cells[1].Split(',').Select(c => c.Trim()).ToHashSet();
        }
        return rules;
    }

    private static Dictionary<string, HashSet<string>> ActualReferences() =>
        Directory.GetFiles(Path.Combine(RepoPaths.Root, "src"), "*.csproj", SearchOption.AllDirectories).ToDictionary(
            p => Path.GetFileNameWithoutExtension(p),
            p => XDocument.Load(p).Descendants("ProjectReference")
                .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value.Replace('\\', '/'))).ToHashSet());

    [GeneratedRegex(@"<!-- project-references:begin -->(.*?)<!-- project-references:end -->", RegexOptions.Singleline)]
    private static partial Regex TableBetweenMarkers();
}
