using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Inference.Encoders;
using WavFusion.Training.Cache;
using WavFusion.Training.Data;
using WavFusion.Training.Evaluation;
using WavFusion.Training.Features;
using WavFusion.Training.SynthEmo;
using WavFusion.Training.Trainer;

namespace WavFusion.Training.Experiments;

/// <summary>One partition an experiment trains on: the protocol's only split, or fold K of cross-validation (output in <c>fold-K/</c>).</summary>
public sealed record ExperimentFold(string Name, int? Number, DatasetPartition Partition, string OutputDir);

/// <summary>One fold trained: its partition, the splits it used and the trainer's result.</summary>
public sealed record TrainedFold(ExperimentFold Fold, TrainingSplits Splits, TrainingResult Result);

/// <summary>One fold evaluated: the checkpoint scored, the report folder and the test metrics.</summary>
public sealed record EvaluatedFold(ExperimentFold Fold, string Checkpoint, string ReportDir, ClassificationMetrics Metrics);

/// <summary>The folds of a run and, for cross-validation, <c>cv_summary.json</c> (its path and content).</summary>
public sealed record ExperimentOutcome<TFold>(IReadOnlyList<TFold> Folds, string? SummaryPath, JsonObject? Summary);

/// <summary>
/// Where a run tells what it is doing; every member may be null (silent). <see cref="Log"/> gets the trainer's
/// epoch lines; the fold callbacks let a caller print as folds start and finish.
/// </summary>
public sealed record ExperimentProgress
{
    public TextWriter? Log { get; init; }

    public IProgress<BatchProgress>? Batches { get; init; }

    /// <summary>Per-item progress of a named phase ("features", "evaluate").</summary>
    public Func<string, IProgress<(int Done, int Total)>>? Items { get; init; }

    public Action<ExperimentFold, TrainingSplits>? FoldStarting { get; init; }

    public Action<TrainedFold>? FoldTrained { get; init; }

    public Action<EvaluatedFold>? FoldEvaluated { get; init; }
}

/// <summary>
/// <c>wavfusion train</c> and <c>evaluate</c> without the console: the experiment with its command-line overrides,
/// the corpus, the prepared items, the fold loop, and the reports (per fold, and the cross-validation summary).
/// </summary>
public static class ExperimentRunner
{
    public const string CrossValidationFile = "cv_summary.json";

    /// <summary>The experiment config with what a command line may override: the corpus folder, the run folder and the epoch count.</summary>
    public static ExperimentConfig Load(string path, string? dataRoot = null, string? outputDir = null, int? epochs = null)
    {
        var config = ExperimentConfigLoader.Load(path);
        if (dataRoot is not null) config = config with { Data = config.Data with { Root = Path.GetFullPath(dataRoot) } };
        if (outputDir is not null || epochs is not null)
        {
            var training = config.Training with
            {
                OutputDir = outputDir is null ? config.Training.OutputDir : Path.GetFullPath(outputDir),
                Epochs = epochs ?? config.Training.Epochs,
            };
            training.Validate();
            config = config with { Training = training };
        }
        return config;
    }

    /// <summary>
    /// Reads the experiment's corpus, writes its report to <paramref name="log"/>, and checks that it has usable
    /// items and that its classes are the model's.
    /// </summary>
    public static LoadedCorpus LoadCorpus(ExperimentConfig experiment, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        var corpus = LoadCorpus(experiment.Data);
        log?.Write(corpus.Report.Summary());
        if (corpus.Report.AcceptedCount == 0)
            throw new InvalidDataException($"{experiment.Data.Root}: no usable {experiment.Data.Corpus.ToString().ToLowerInvariant()} item (see the report above)");
        var modelLabels = experiment.LabelNames;
        if (!corpus.Labels.Names.SequenceEqual(modelLabels, StringComparer.Ordinal))
            throw new ArgumentException(
                $"{experiment.SourcePath}: model.config.label_names [{string.Join(", ", modelLabels)}] are not the corpus's classes [{string.Join(", ", corpus.Labels.Names)}]");
        return corpus;
    }

    /// <summary>
    /// Audio, text and visual features of every item (the experiment's frozen encoders through its feature cache);
    /// items skipped while reading their media are added to the corpus report and written to <paramref name="log"/>.
    /// </summary>
    public static Dictionary<string, ITrainingItem> Prepare(ExperimentConfig experiment, LoadedCorpus corpus, TextWriter? log = null,
        IProgress<(int Done, int Total)>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        ArgumentNullException.ThrowIfNull(corpus);
        using var text = experiment.Uses(Modality.Text) ? FeatureEncoderLoader.LoadText(experiment.Encoders.Text!) : null;
        using var visual = experiment.Uses(Modality.Visual) ? FeatureEncoderLoader.LoadVisual(experiment.Encoders.Visual!) : null;
        var cache = experiment.Training.UseFeatureCache ? new FeatureCache(Path.GetFullPath(experiment.Training.EffectiveFeatureCacheDir)) : null;
        var featurizer = new ItemFeaturizer(text, visual, cache, experiment.Video);
        int skippedBefore = corpus.Report.SkippedCount;
        var items = featurizer.Prepare(corpus.Items, experiment.Modalities.ToHashSet(), corpus.Report, progress);
        if (corpus.Report.SkippedCount > skippedBefore && log is not null)
        {
            log.WriteLine($"{corpus.Report.SkippedCount - skippedBefore} items skipped while reading their media:");
            log.Write(corpus.Report.Summary());
        }
        return items.ToDictionary(i => i.Id, StringComparer.Ordinal);
    }

    /// <summary>
    /// Trains every selected fold (<see cref="TrainFold"/>, each a fresh model from <paramref name="build"/>, by
    /// default the experiment's) and, for cross-validation, writes <c>cv_summary.json</c> in the run folder.
    /// </summary>
    public static ExperimentOutcome<TrainedFold> Train(ExperimentConfig experiment, LoadedCorpus corpus, IReadOnlyDictionary<string, ITrainingItem> prepared,
        Func<IEmotionClassifier>? build = null, bool resume = false, ExperimentProgress? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        build ??= () => ExperimentModels.Build(experiment);
        var trained = new List<TrainedFold>();
        foreach (var fold in Folds(experiment, corpus))
        {
            var splits = Splits(fold.Partition, prepared);
            progress?.FoldStarting?.Invoke(fold, splits);
            var result = TrainFold(experiment, fold, splits, build, resume, progress?.Log, progress?.Batches, cancellationToken);
            var done = new TrainedFold(fold, splits, result);
            trained.Add(done);
            progress?.FoldTrained?.Invoke(done);
        }
        var (path, summary) = Summarise(experiment, Path.GetFullPath(experiment.Training.OutputDir), trained.Select(t => (t.Fold.Name, t.Fold.OutputDir)).ToArray());
        return new ExperimentOutcome<TrainedFold>(trained, path, summary);
    }

    /// <summary>
    /// Scores the trained model of every selected fold on its test split (<see cref="CheckpointOf"/> finds it under
    /// <paramref name="checkpointDir"/>), writing each fold's report under <paramref name="outputRoot"/> (in
    /// <c>fold-K</c> for cross-validation) and then <c>cv_summary.json</c>.
    /// </summary>
    public static ExperimentOutcome<EvaluatedFold> EvaluateCheckpoints(ExperimentConfig experiment, LoadedCorpus corpus,
        IReadOnlyDictionary<string, ITrainingItem> prepared, string checkpointDir, string outputRoot, ExperimentProgress? progress = null)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        var evaluated = new List<EvaluatedFold>();
        foreach (var fold in Folds(experiment, corpus))
        {
            string source = CheckpointOf(checkpointDir, fold.Number);
            string target = fold.Number is { } k ? Path.Combine(outputRoot, FoldFolder(k)) : outputRoot;
            var test = Splits(fold.Partition, prepared).Test;
            using var classifier = ExperimentModels.FromCheckpoint(source, experiment);
            var metrics = Evaluate(classifier, test, target, experiment.Training.BatchSize, $"{Title(experiment, fold)}: test",
                new JsonObject { ["checkpoint"] = source, ["experiment"] = experiment.Name }, progress?.Items?.Invoke("evaluate"));
            var done = new EvaluatedFold(fold, source, target, metrics);
            evaluated.Add(done);
            progress?.FoldEvaluated?.Invoke(done);
        }
        var (path, summary) = Summarise(experiment, outputRoot, evaluated.Select(e => (e.Fold.Name, e.ReportDir)).ToArray());
        return new ExperimentOutcome<EvaluatedFold>(evaluated, path, summary);
    }

    /// <summary>The checkpoint folder for a fold: DIR itself, DIR/checkpoints/best, or (for fold K) the same under DIR/fold-K.</summary>
    public static string CheckpointOf(string dir, int? fold)
    {
        ArgumentNullException.ThrowIfNull(dir);
        string run = fold is { } k && Directory.Exists(Path.Combine(dir, FoldFolder(k))) ? Path.Combine(dir, FoldFolder(k)) : dir;
        if (File.Exists(Path.Combine(run, ModelCheckpoint.ManifestFile))) return run;
        string best = Path.Combine(run, EmotionClassifierTrainer.CheckpointsFolder, EmotionClassifierTrainer.BestCheckpoint);
        if (File.Exists(Path.Combine(best, ModelCheckpoint.ManifestFile))) return best;
        throw new CheckpointException($"{dir}: no checkpoint here, in {Path.Combine(EmotionClassifierTrainer.CheckpointsFolder, EmotionClassifierTrainer.BestCheckpoint)}" +
                                      (fold is null ? "" : $" or under {FoldFolder(fold.Value)}/"));
    }

    /// <summary><c>cv_summary.json</c> under <paramref name="root"/> for a cross-validation run; nothing (nulls) for a single split.</summary>
    private static (string? Path, JsonObject? Summary) Summarise(ExperimentConfig experiment, string root, IReadOnlyList<(string Name, string Folder)> folds)
    {
        if (!experiment.Data.IsCrossValidation) return (null, null);
        string path = Path.Combine(root, CrossValidationFile);
        return (path, CrossValidationSummary.Write(path, experiment.Name, folds));
    }

    /// <summary>Reads the experiment's corpus under its protocol; broken items are in the returned report.</summary>
    public static LoadedCorpus LoadCorpus(DataSpec data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!Directory.Exists(data.Root) && !File.Exists(data.Root))
            throw new DirectoryNotFoundException($"data.root: {data.Root} does not exist (set data.root in the config or pass --data-root)");
        return data.Corpus switch
        {
            CorpusKind.Iemocap => IemocapReader.Load(data.Root, data.IemocapProtocol),
            CorpusKind.Meld => MeldReader.Load(data.Root),
            _ => SynthEmoManifest.Load(data.Root),
        };
    }

    /// <summary>The partitions to run, each with its output folder (the run's folder, or <c>fold-K</c> under it for cross-validation).</summary>
    public static IReadOnlyList<ExperimentFold> Folds(ExperimentConfig experiment, LoadedCorpus corpus)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        ArgumentNullException.ThrowIfNull(corpus);
        string root = Path.GetFullPath(experiment.Training.OutputDir);
        if (!experiment.Data.IsCrossValidation) return [new ExperimentFold(corpus.Partitions[0].Name, null, corpus.Partitions[0], root)];
        if (corpus.Partitions.Count != experiment.Data.FoldCount)
            throw new InvalidOperationException($"{experiment.Data.Protocol}: expected {experiment.Data.FoldCount} folds, the reader made {corpus.Partitions.Count}");
        return experiment.Data.SelectedFolds
            .Select(k => new ExperimentFold(corpus.Partitions[k - 1].Name, k, corpus.Partitions[k - 1], Path.Combine(root, FoldFolder(k))))
            .ToArray();
    }

    public static string FoldFolder(int number) => string.Create(CultureInfo.InvariantCulture, $"fold-{number}");

    /// <summary>A partition's splits from the prepared items; items the featurizer skipped (and reported) are left out.</summary>
    public static TrainingSplits Splits(DatasetPartition partition, IReadOnlyDictionary<string, ITrainingItem> prepared)
    {
        ArgumentNullException.ThrowIfNull(partition);
        ArgumentNullException.ThrowIfNull(prepared);
        IReadOnlyList<ITrainingItem> Pick(IReadOnlyList<EmotionItem> items) =>
            items.Select(i => prepared.GetValueOrDefault(i.Id)).OfType<ITrainingItem>().ToArray();
        return new TrainingSplits(Pick(partition.Train), Pick(partition.Validation), Pick(partition.Test));
    }

    /// <summary>The training options of one fold: its own folder, the run's shared feature cache.</summary>
    public static TrainerOptions FoldOptions(ExperimentConfig experiment, ExperimentFold fold)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        ArgumentNullException.ThrowIfNull(fold);
        var options = experiment.Training;
        return options with { OutputDir = fold.OutputDir, FeatureCacheDir = Path.GetFullPath(options.EffectiveFeatureCacheDir) };
    }

    /// <summary>
    /// Trains a fresh model (seeded from <c>training.seed</c>) on one fold and adds the PNGs to its report:
    /// <c>confusion_matrix.png</c> of the test split and <c>training_curves.png</c> of the whole log (resumed epochs included).
    /// </summary>
    public static TrainingResult TrainFold(ExperimentConfig experiment, ExperimentFold fold, TrainingSplits splits, Func<IEmotionClassifier> build,
        bool resume = false, TextWriter? log = null, IProgress<BatchProgress>? batches = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        ArgumentNullException.ThrowIfNull(fold);
        ArgumentNullException.ThrowIfNull(build);
        torch.manual_seed(experiment.Training.Seed);
        var classifier = build();
        try
        {
            var trainer = new EmotionClassifierTrainer(FoldOptions(experiment, fold), log) { Batches = batches };
            var result = trainer.Train(classifier, splits, resume, cancellationToken: cancellationToken);
            string title = Title(experiment, fold);
            ReportPlots.ConfusionMatrix(Path.Combine(result.OutputDir, ReportPlots.ConfusionMatrixFile), classifier.LabelNames,
                result.TestMetrics.ConfusionMatrix, $"{title}: test");
            ReportPlots.TrainingCurves(Path.Combine(result.OutputDir, ReportPlots.TrainingCurvesFile),
                ReadLog(Path.Combine(result.OutputDir, EmotionClassifierTrainer.LogFile)), title);
            return result;
        }
        finally
        {
            classifier.Dispose();
        }
    }

    public static string Title(ExperimentConfig experiment, ExperimentFold fold)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        ArgumentNullException.ThrowIfNull(fold);
        return fold.Number is { } k ? string.Create(CultureInfo.InvariantCulture, $"{experiment.Name} fold {k}") : experiment.Name;
    }

    public static IReadOnlyList<EpochRecord> ReadLog(string path) =>
        File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<EpochRecord>(l)!).ToArray();

    /// <summary>
    /// Scores a trained classifier on items and writes <c>metrics.json</c>, <c>predictions.csv</c> and
    /// <c>confusion_matrix.png</c> into <paramref name="outputDir"/>.
    /// </summary>
    public static ClassificationMetrics Evaluate(IEmotionClassifier classifier, IReadOnlyList<ITrainingItem> items, string outputDir, int batchSize,
        string title, JsonObject? extra = null, IProgress<(int Done, int Total)>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        var collator = classifier.CreateCollator(null);
        var scored = Scoring.Predict(classifier, collator, items, batchSize, progress);
        var metrics = scored.Metrics(classifier.LabelNames.Count);
        Scoring.WriteReport(outputDir, classifier.LabelNames, scored, metrics, extra);
        ReportPlots.ConfusionMatrix(Path.Combine(outputDir, ReportPlots.ConfusionMatrixFile), classifier.LabelNames, metrics.ConfusionMatrix, title);
        return metrics;
    }
}
