using System.CommandLine;
using System.Globalization;
using WavFusion.Training.Experiments;

namespace WavFusion.Cli.Commands;

/// <summary>
/// `wavfusion evaluate --checkpoint DIR --config FILE`: scores a trained model on the experiment's test split
/// (every selected fold's for cross-validation) and writes metrics.json, predictions.csv and confusion_matrix.png.
/// DIR is a checkpoint folder, a run folder (its checkpoints/best is used) or, for cross-validation, the run
/// folder holding fold-K/.
/// </summary>
internal static class EvaluateCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<DirectoryInfo>("--checkpoint") { Description = "checkpoint folder, run folder, or cross-validation run folder", Required = true };
        var config = new Option<FileInfo>("--config") { Description = "the experiment config (data, modalities, encoders)", Required = true };
        var dataRoot = new Option<DirectoryInfo?>("--data-root") { Description = "corpus folder (overrides data.root)" };
        var output = new Option<DirectoryInfo?>("--output") { Description = "report folder (default: evaluation/ under the checkpoint's run folder)" };
        var command = new Command("evaluate", "Score a trained checkpoint on an experiment's test split(s)");
        foreach (var o in new Option[] { checkpoint, config, dataRoot, output }) command.Options.Add(o);
        command.SetAction(parse => Run(parse.GetValue(checkpoint)!.FullName, parse.GetValue(config)!.FullName,
            parse.GetValue(dataRoot)?.FullName, parse.GetValue(output)?.FullName));
        return command;
    }

    private static int Run(string checkpointDir, string configPath, string? dataRoot, string? output)
    {
        var experiment = ExperimentRunner.Load(configPath, dataRoot);
        ExperimentModels.CheckBuilds(experiment);
        var corpus = ExperimentRunner.LoadCorpus(experiment, Console.Out);
        var bar = new ConsoleProgressBar();
        var prepared = ExperimentRunner.Prepare(experiment, corpus, Console.Out, bar.Items("features"));
        var progress = new ExperimentProgress
        {
            Items = bar.Items,
            FoldEvaluated = e => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{ExperimentRunner.Title(experiment, e.Fold)}: {e.Metrics.Count} items, accuracy {e.Metrics.Accuracy:F4}, weighted F1 {e.Metrics.WeightedF1:F4}, " +
                $"macro F1 {e.Metrics.MacroF1:F4}, UA {e.Metrics.UnweightedAccuracy:F4} -> {e.ReportDir}")),
        };
        ExperimentRunner.EvaluateCheckpoints(experiment, corpus, prepared, checkpointDir, output ?? Path.Combine(checkpointDir, "evaluation"), progress);
        return 0;
    }
}
