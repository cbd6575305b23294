using System.CommandLine;
using WavFusion.Cli.Fuzzing;

namespace WavFusion.Cli.Commands;

/// <summary>`wavfusion fuzz`: mutants of valid files through the product's readers; exit 1 if any crashed, hung or over-allocated.</summary>
internal static class FuzzCommand
{
    public static Command Create()
    {
        var format = new Option<string>("--format") { Description = "safetensors, torch, ggml, wav or all", DefaultValueFactory = _ => "all" };
        var cases = new Option<int>("--cases") { Description = "mutants per format", DefaultValueFactory = _ => 10_000 };
        var seed = new Option<int>("--seed") { Description = "seed of the mutations (the same seed gives the same mutants)", DefaultValueFactory = _ => 1 };
        var timeout = new Option<double>("--timeout") { Description = "seconds after which a case counts as hung", DefaultValueFactory = _ => 5 };
        var command = new Command("fuzz", "Feed damaged and lying files to the checkpoint, ggml and WAV readers and count how each is handled")
        {
            format, cases, seed, timeout,
        };
        command.SetAction(parse => Run(parse.GetValue(format)!, parse.GetValue(cases), parse.GetValue(seed), parse.GetValue(timeout)));
        return command;
    }

    private static int Run(string formatName, int cases, int seed, double timeoutSeconds)
    {
        FuzzFormat[] formats = formatName.ToLowerInvariant() switch
        {
            "all" => Enum.GetValues<FuzzFormat>(),
            var name when Enum.TryParse<FuzzFormat>(name, ignoreCase: true, out var f) => [f],
            _ => throw new OptionValueException("--format", $"'{formatName}' is not one of safetensors, torch, ggml, wav, all"),
        };
        if (cases < 1) throw new OptionValueException("--cases", $"{cases} is not a positive number of cases");
        if (!double.IsFinite(timeoutSeconds) || timeoutSeconds <= 0 || timeoutSeconds > 600)
            throw new OptionValueException("--timeout", $"{timeoutSeconds} is not a number of seconds in (0, 600]");

        bool clean = true;
        foreach (var f in formats)
        {
            var r = ReaderFuzzer.Run(f, cases, seed, TimeSpan.FromSeconds(timeoutSeconds));
            Console.WriteLine($"{f.ToString().ToLowerInvariant(),-12} {r.Cases} cases in {r.Elapsed.TotalSeconds:F1} s: {r.Ok} ok, {r.Rejected} rejected, " +
                              $"{r.Crashed} crashed, {r.Hung} hung, {r.OverAllocated} over-allocated, {r.Unnamed} without the file name");
            foreach (var e in r.Examples) Console.WriteLine($"  {e}");
            clean &= r.Clean;
        }
        return clean ? 0 : 1;
    }
}
