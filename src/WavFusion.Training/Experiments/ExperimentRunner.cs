using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using WavFusion.Training.Data;
using WavFusion.Training.Evaluation;
using WavFusion.Training.SynthEmo;
using WavFusion.Training.Trainer;

namespace WavFusion.Training.Experiments;

/// <summary>One partition an experiment trains on: the protocol's only split, or fold K of cross-validation (output in <c>fold-K/</c>).</summary>
public sealed record ExperimentFold(string Name, int? Number, DatasetPartition Partition, string OutputDir);

/// <summary>The steps of <c>wavfusion train</c> and <c>evaluate</c> that do not touch the console: data, folds, training, reports.</summary>
public static class ExperimentRunner
{
    public const string CrossValidationFile = "cv_summary.json";

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
