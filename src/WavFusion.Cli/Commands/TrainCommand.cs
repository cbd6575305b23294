using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using WavFusion.Training.Experiments;

namespace WavFusion.Cli.Commands;

/// <summary>`wavfusion train --config FILE`: trains an experiment (every selected fold for cross-validation) and writes its reports.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo>("--config") { Description = "experiment config (config/experiments/*.json)", Required = true };
        var resume = new Option<bool>("--resume") { Description = "continue each fold from its checkpoints/last" };
        var dataRoot = new Option<DirectoryInfo?>("--data-root") { Description = "corpus folder (overrides data.root)" };
        var output = new Option<DirectoryInfo?>("--output") { Description = "run folder (overrides training.output_dir)" };
        var epochs = new Option<int?>("--epochs") { Description = "number of epochs (overrides training.epochs)" };
        var command = new Command("train", "Train an experiment: WavFusion, the cross-modal model or a unimodal baseline, on IEMOCAP, MELD or SynthEmo");
        foreach (var o in new Option[] { config, resume, dataRoot, output, epochs }) command.Options.Add(o);
        command.SetAction((parse, cancellationToken) => Task.FromResult(Run(
            parse.GetValue(config)!.FullName, parse.GetValue(resume), parse.GetValue(dataRoot)?.FullName,
            parse.GetValue(output)?.FullName, parse.GetValue(epochs), cancellationToken)));
        return command;
    }

    private static int Run(string configPath, bool resume, string? dataRoot, string? output, int? epochs, CancellationToken cancellationToken)
    {
        try
        {
            var experiment = ExperimentRunner.Load(configPath, dataRoot, output, epochs);
            long parameters = ExperimentModels.CheckBuilds(experiment);
            Console.WriteLine($"experiment {experiment.Name}: {JsonSerializer.Serialize(experiment.Kind).Trim('"')} on {string.Join("+", experiment.Modalities).ToLowerInvariant()}, " +
                              $"{parameters:N0} parameters, {experiment.Data.Corpus.ToString().ToLowerInvariant()} {experiment.Data.Protocol}, output {Path.GetFullPath(experiment.Training.OutputDir)}");
            var corpus = ExperimentRunner.LoadCorpus(experiment, Console.Out);
            var bar = new ConsoleProgressBar();
            var prepared = ExperimentRunner.Prepare(experiment, corpus, Console.Out, bar.Items("features"));
            var progress = new ExperimentProgress
            {
                Log = Console.Error,
                Batches = bar.Batches,
                FoldStarting = (fold, splits) => Console.WriteLine(
                    $"{ExperimentRunner.Title(experiment, fold)} ({fold.Name}): train {splits.Train.Count}, val {splits.Validation.Count}, test {splits.Test.Count} -> {fold.OutputDir}"),
                FoldTrained = trained =>
                {
                    var m = trained.Result.TestMetrics;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  test: accuracy {m.Accuracy:F4}, weighted F1 {m.WeightedF1:F4}, macro F1 {m.MacroF1:F4}, UA {m.UnweightedAccuracy:F4} (best epoch {trained.Result.BestEpoch})"));
                },
            };
            var run = ExperimentRunner.Train(experiment, corpus, prepared, resume: resume, progress: progress, cancellationToken: cancellationToken);
            if (run.Summary is { } summary)
            {
                foreach (var metric in CrossValidationSummary.Metrics)
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  {metric}: {summary["mean"]![metric]!.GetValue<double>():F4} ± {summary["std"]![metric]!.GetValue<double>():F4} over {run.Folds.Count} folds"));
                Console.WriteLine($"  {run.SummaryPath}");
            }
            return 0;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("cancelled; the last completed epoch is kept (continue with --resume)");
            return 130;
        }
    }
}
