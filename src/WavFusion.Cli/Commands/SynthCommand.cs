using System.CommandLine;
using System.Diagnostics;
using WavFusion.Training.Recipes;
using WavFusion.Training.SynthEmo;

namespace WavFusion.Cli.Commands;

/// <summary>`wavfusion synth`: generates a SynthEmo corpus (espeak-ng speech, emotional wording, rendered faces).</summary>
internal static class SynthCommand
{
    public static Command Create()
    {
        var outDir = new Option<DirectoryInfo>("--out") { Description = "folder to write manifest.jsonl, corpus.json, audio/ and faces/ into", Required = true };
        var items = new Option<int>("--items") { Description = "number of utterances (balanced over the classes)", DefaultValueFactory = _ => 1000 };
        var seed = new Option<int>("--seed") { Description = "the same seed gives byte-identical files", DefaultValueFactory = _ => 0 };
        var size = new Option<int>("--frame-size") { Description = "face frames are SIZE x SIZE pixels", DefaultValueFactory = _ => 64 };
        var frames = new Option<int>("--frames") { Description = "face frames per item, spread over the utterance", DefaultValueFactory = _ => 10 };
        var jobs = new Option<int>("--jobs") { Description = "espeak-ng processes at once", DefaultValueFactory = _ => Environment.ProcessorCount };
        var command = new Command("synth", "Generate the SynthEmo tri-modal corpus (each modality alone is ambiguous; together they decide)");
        foreach (var o in new Option[] { outDir, items, seed, size, frames, jobs }) command.Options.Add(o);
        command.SetAction(parse =>
        {
            var options = new SynthEmoOptions
            {
                Items = parse.GetValue(items),
                Seed = parse.GetValue(seed),
                FrameSize = parse.GetValue(size),
                FramesPerItem = parse.GetValue(frames),
                Parallelism = parse.GetValue(jobs),
            };
            string dir = parse.GetValue(outDir)!.FullName;
            int step = Math.Max(1, options.Items / 10);
            var watch = Stopwatch.StartNew();
            var progress = new Progress<int>(done =>
            {
                if (done % step == 0 || done == options.Items) Console.Error.WriteLine($"  {done}/{options.Items} items ({watch.Elapsed.TotalSeconds:0.0} s)");
            });
            try
            {
                var corpus = SynthEmoGenerator.Generate(dir, options, progress);
                var p = corpus.Partitions[0];
                Console.WriteLine($"SynthEmo: {options.Items} items in {dir} ({watch.Elapsed.TotalSeconds:0.0} s): train {p.Train.Count}, val {p.Validation.Count}, test {p.Test.Count}");
                Console.Write(corpus.Report.Summary());
                return 0;
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or IOException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        command.Subcommands.Add(CreateEncoders());
        return command;
    }

    private static Command CreateEncoders()
    {
        var corpus = new Option<DirectoryInfo>("--corpus") { Description = "a SynthEmo corpus folder (its training split is used)", Required = true };
        var outDir = new Option<DirectoryInfo>("--out") { Description = "folder to write text-encoder/ and visual-encoder/ into", Required = true };
        var seed = new Option<int>("--seed") { Description = "initialisation seed", DefaultValueFactory = _ => 0 };
        var command = new Command("encoders",
            "Write the demo model's frozen encoders: a random-init 2-layer RoBERTa with a BPE vocabulary learnt from the corpus, " +
            "and a random-init EfficientNet (width 0.25) with BatchNorm statistics calibrated on the corpus's faces") { corpus, outDir, seed };
        command.SetAction(parse =>
        {
            var watch = Stopwatch.StartNew();
            try
            {
                var (text, visual) = DemoEncoders.WriteFromCorpus(parse.GetValue(corpus)!.FullName, parse.GetValue(outDir)!.FullName, parse.GetValue(seed));
                Console.WriteLine($"text encoder: {text}");
                Console.WriteLine($"image encoder: {visual}");
                Console.WriteLine($"({watch.Elapsed.TotalSeconds:0.0} s)");
                return 0;
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or IOException or InvalidDataException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }
}
