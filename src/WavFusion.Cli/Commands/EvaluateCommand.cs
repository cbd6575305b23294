using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using WavFusion.Core.Checkpoints;
using WavFusion.Training.Experiments;
using WavFusion.Training.Trainer;

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
        var experiment = ExperimentSetup.Load(configPath, dataRoot, null, null);
        string outputRoot = output ?? Path.Combine(checkpointDir, "evaluation");
        ExperimentModels.CheckBuilds(experiment);
        var labels = experiment.LabelNames;
        var corpus = ExperimentSetup.LoadCorpus(experiment, labels);
        var bar = new ConsoleProgressBar();
        var prepared = ExperimentSetup.Prepare(experiment, corpus, bar);
        var folds = ExperimentRunner.Folds(experiment, corpus);
        var reports = new List<(string Name, string Folder)>();
        foreach (var fold in folds)
        {
            string source = CheckpointOf(checkpointDir, fold.Number);
            string target = fold.Number is { } k ? Path.Combine(outputRoot, ExperimentRunner.FoldFolder(k)) : outputRoot;
            var test = ExperimentRunner.Splits(fold.Partition, prepared).Test;
            var classifier = ExperimentModels.FromCheckpoint(source, experiment);
            try
            {
                var m = ExperimentRunner.Evaluate(classifier, test, target, experiment.Training.BatchSize, $"{ExperimentRunner.Title(experiment, fold)}: test",
                    new JsonObject { ["checkpoint"] = source, ["experiment"] = experiment.Name }, bar.Items("evaluate"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{ExperimentRunner.Title(experiment, fold)}: {m.Count} items, accuracy {m.Accuracy:F4}, weighted F1 {m.WeightedF1:F4}, macro F1 {m.MacroF1:F4}, UA {m.UnweightedAccuracy:F4} -> {target}"));
            }
            finally
            {
                classifier.Dispose();
            }
            reports.Add((fold.Name, target));
        }
        if (experiment.Data.IsCrossValidation)
            CrossValidationSummary.Write(Path.Combine(outputRoot, ExperimentRunner.CrossValidationFile), experiment.Name, reports);
        return 0;
    }

    /// <summary>The checkpoint folder for a fold: DIR itself, DIR/checkpoints/best, or (for fold K) the same under DIR/fold-K.</summary>
    private static string CheckpointOf(string dir, int? fold)
    {
        string run = fold is { } k && Directory.Exists(Path.Combine(dir, ExperimentRunner.FoldFolder(k))) ? Path.Combine(dir, ExperimentRunner.FoldFolder(k)) : dir;
        if (File.Exists(Path.Combine(run, ModelCheckpoint.ManifestFile))) return run;
        string best = Path.Combine(run, EmotionClassifierTrainer.CheckpointsFolder, EmotionClassifierTrainer.BestCheckpoint);
        if (File.Exists(Path.Combine(best, ModelCheckpoint.ManifestFile))) return best;
        throw new CheckpointException($"{dir}: no checkpoint here, in {Path.Combine(EmotionClassifierTrainer.CheckpointsFolder, EmotionClassifierTrainer.BestCheckpoint)}" +
                                      (fold is null ? "" : $" or under {ExperimentRunner.FoldFolder(fold.Value)}/"));
    }
}
