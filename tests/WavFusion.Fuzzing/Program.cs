using System.CommandLine;
using System.Globalization;
using WavFusion.Fuzzing;

// Feeds damaged and lying files to the checkpoint, ggml and WAV readers and counts how each is handled;
// exits 1 if any case crashed, hung or allocated more than its file justifies, 2 for a bad option.
var format = new Option<string>("--format") { Description = "safetensors, torch, ggml, wav or all", DefaultValueFactory = _ => "all" };
var cases = new Option<int>("--cases") { Description = "mutants per format", DefaultValueFactory = _ => 10_000 };
var seed = new Option<int>("--seed") { Description = "seed of the mutations (the same seed gives the same mutants)", DefaultValueFactory = _ => 1 };
var timeout = new Option<double>("--timeout") { Description = "seconds after which a case counts as hung", DefaultValueFactory = _ => 5 };
var root = new RootCommand("Fuzz the product's file readers") { format, cases, seed, timeout };
root.SetAction(parse =>
{
    string name = parse.GetValue(format)!;
    FuzzFormat[] formats = name.ToLowerInvariant() switch
    {
        "all" => Enum.GetValues<FuzzFormat>(),
        var n when Enum.TryParse<FuzzFormat>(n, ignoreCase: true, out var f) => [f],
        _ => [],
    };
    int count = parse.GetValue(cases);
    double seconds = parse.GetValue(timeout);
    if (formats.Length == 0 || count < 1 || !double.IsFinite(seconds) || seconds <= 0 || seconds > 600)
    {
        Console.Error.WriteLine($"error: --format must be safetensors, torch, ggml, wav or all; --cases positive; --timeout in (0, 600] s");
        return 2;
    }
    bool clean = true;
    foreach (var f in formats)
    {
        var r = ReaderFuzzer.Run(f, count, parse.GetValue(seed), TimeSpan.FromSeconds(seconds));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{f.ToString().ToLowerInvariant(),-12} {r.Cases} cases in {r.Elapsed.TotalSeconds:F1} s: {r.Ok} ok, {r.Rejected} rejected, {r.Crashed} crashed, {r.Hung} hung, {r.OverAllocated} over-allocated, {r.Unnamed} without the file name"));
        foreach (var e in r.Examples) Console.WriteLine($"  {e}");
        clean &= r.Clean;
    }
    return clean ? 0 : 1;
});
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
