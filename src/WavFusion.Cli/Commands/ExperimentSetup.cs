using WavFusion.Inference.Encoders;
using WavFusion.Training.Cache;
using WavFusion.Training.Data;
using WavFusion.Training.Experiments;
using WavFusion.Training.Features;
using WavFusion.Training.Trainer;

namespace WavFusion.Cli.Commands;

/// <summary>What `train` and `evaluate` share: the config with the command line's overrides, the corpus and the prepared items.</summary>
internal static class ExperimentSetup
{
    public static ExperimentConfig Load(string path, string? dataRoot, string? output, int? epochs)
    {
        var config = ExperimentConfigLoader.Load(path);
        if (dataRoot is not null) config = config with { Data = config.Data with { Root = Path.GetFullPath(dataRoot) } };
        if (output is not null || epochs is not null)
        {
            var training = config.Training with
            {
                OutputDir = output is null ? config.Training.OutputDir : Path.GetFullPath(output),
                Epochs = epochs ?? config.Training.Epochs,
            };
            training.Validate();
            config = config with { Training = training };
        }
        return config;
    }

    /// <summary>Reads the corpus, prints its report and checks that its classes are the model's.</summary>
    public static LoadedCorpus LoadCorpus(ExperimentConfig config, IReadOnlyList<string> modelLabels)
    {
        var corpus = ExperimentRunner.LoadCorpus(config.Data);
        Console.Write(corpus.Report.Summary());
        if (corpus.Report.AcceptedCount == 0)
            throw new InvalidDataException($"{config.Data.Root}: no usable {config.Data.Corpus.ToString().ToLowerInvariant()} item (see the report above)");
        if (!corpus.Labels.Names.SequenceEqual(modelLabels, StringComparer.Ordinal))
            throw new ArgumentException(
                $"{config.SourcePath}: model.config.label_names [{string.Join(", ", modelLabels)}] are not the corpus's classes [{string.Join(", ", corpus.Labels.Names)}]");
        return corpus;
    }

    /// <summary>Audio, text and visual features of every item (frozen encoders through the feature cache); skipped items are reported.</summary>
    public static Dictionary<string, ITrainingItem> Prepare(ExperimentConfig config, LoadedCorpus corpus, ConsoleProgressBar bar)
    {
        using var text = config.Uses(Modality.Text) ? FeatureEncoderLoader.LoadText(config.Encoders.Text!) : null;
        using var visual = config.Uses(Modality.Visual) ? FeatureEncoderLoader.LoadVisual(config.Encoders.Visual!) : null;
        var cache = config.Training.UseFeatureCache ? new FeatureCache(Path.GetFullPath(config.Training.EffectiveFeatureCacheDir)) : null;
        var featurizer = new ItemFeaturizer(text, visual, cache, config.Video);
        int skippedBefore = corpus.Report.SkippedCount;
        var items = featurizer.Prepare(corpus.Items, config.Modalities.ToHashSet(), corpus.Report, bar.Items("features"));
        if (corpus.Report.SkippedCount > skippedBefore)
        {
            Console.WriteLine($"{corpus.Report.SkippedCount - skippedBefore} items skipped while reading their media:");
            Console.Write(corpus.Report.Summary());
        }
        return items.ToDictionary(i => i.Id, StringComparer.Ordinal);
    }
}
