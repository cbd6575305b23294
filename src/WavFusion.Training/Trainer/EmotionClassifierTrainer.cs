using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.Fusion;
using WavFusion.Training.Cache;
using WavFusion.Training.Classifiers;
using WavFusion.Training.Evaluation;
using static TorchSharp.torch;

namespace WavFusion.Training.Trainer;

/// <summary>
/// Trains an <see cref="IEmotionClassifier"/> (WavFusion, the cross-modal model, the unimodal baselines): AdamW over four parameter groups (deep wav2vec2 layers vs new
/// modules, each with and without weight decay; see <see cref="IEmotionClassifier.IsPretrained"/>), warm-up then linear/cosine decay per optimiser step, global
/// gradient-norm clipping, one dispose scope per batch, validation each epoch, early stopping on validation
/// weighted F1. After every epoch the last checkpoint (weights + <see cref="TrainerState"/> + optimiser
/// moments) is replaced atomically, so <c>resume</c> continues after the last completed epoch; the best
/// epoch is kept as its own checkpoint and scores the test split at the end.
/// Output folder: <c>checkpoints/last</c>, <c>checkpoints/best</c>, <c>train_log.jsonl</c>, <c>metrics.json</c>, <c>predictions.csv</c>.
/// </summary>
public sealed class EmotionClassifierTrainer
{
    public const string LogFile = "train_log.jsonl";
    public const string MetricsFile = Scoring.MetricsFile;
    public const string PredictionsFile = Scoring.PredictionsFile;
    public const string CheckpointsFolder = "checkpoints";
    public const string LastCheckpoint = "last";
    public const string BestCheckpoint = "best";
    public const string ModelVersion = "trained";

    private static readonly JsonSerializerOptions LogJson = new() { WriteIndented = false };

    private readonly TrainerOptions _options;
    private readonly TextWriter _progress;

    /// <param name="progress">Where the per-epoch progress line goes; standard error by default.</param>
    public EmotionClassifierTrainer(TrainerOptions options, TextWriter? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _progress = progress ?? Console.Error;
    }

    /// <summary>Told after every training and validation batch (for a progress bar with ETA); null = silent.</summary>
    public IProgress<BatchProgress>? Batches { get; init; }

    /// <summary>The feature cache of the latest <see cref="Train"/> call (null when caching is off).</summary>
    public FeatureCache? Cache { get; private set; }

    public string OutputDir => Path.GetFullPath(_options.OutputDir);

    public string LastCheckpointDir => Path.Combine(OutputDir, CheckpointsFolder, LastCheckpoint);

    public string BestCheckpointDir => Path.Combine(OutputDir, CheckpointsFolder, BestCheckpoint);

    /// <param name="resume">Continue from <c>checkpoints/last</c> if it exists (else start fresh).</param>
    /// <param name="epochs">Told each completed epoch, after its checkpoint is on disk.</param>
    /// <param name="cancellationToken">Checked before every batch; a cancelled run keeps its last completed epoch.</param>
    public TrainingResult Train(WavFusionModel model, TrainingSplits data, bool resume = false,
        IProgress<EpochRecord>? epochs = null, CancellationToken cancellationToken = default) =>
        // The adapter is not disposed: the model stays the caller's.
        Train(new WavFusionClassifier(model), data, resume, epochs, cancellationToken);

    /// <inheritdoc cref="Train(WavFusionModel, TrainingSplits, bool, IProgress{EpochRecord}?, CancellationToken)"/>
    public TrainingResult Train(IEmotionClassifier model, TrainingSplits data, bool resume = false,
        IProgress<EpochRecord>? epochs = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        data.Validate(model.LabelNames.Count);
        Directory.CreateDirectory(OutputDir);
        Cache = _options.UseFeatureCache ? new FeatureCache(_options.EffectiveFeatureCacheDir) : null;
        var collator = model.CreateCollator(Cache);

        var groups = ParameterGroups(model);
        using var optimizer = new HeldScalarAdamW(groups.Select(g => g.Group));
        var trainable = model.TrainableParameters().Select(p => p.Parameter).ToArray();

        var state = resume && Directory.Exists(LastCheckpointDir)
            ? Restore(model, optimizer)
            : StartFresh();

        long stepsPerEpoch = (data.Train.Count + _options.BatchSize - 1) / _options.BatchSize;
        var schedule = new LearningRateSchedule(_options.Epochs * stepsPerEpoch, _options.WarmupFor(_options.Epochs * stepsPerEpoch), _options.Decay);
        var history = new List<EpochRecord>();
        var runClock = Stopwatch.StartNew();

        for (int epoch = state.Epoch + 1; epoch <= _options.Epochs && !state.StoppedEarly; epoch++)
        {
            var clock = Stopwatch.StartNew();
            var cacheBefore = Cache?.Stats;
            torch.manual_seed(_options.Seed + epoch);
            var order = Shuffled(data.Train, epoch);

            model.Module.train();
            double loss = 0, crossEntropy = 0, margin = 0, gradNorm = 0;
            long step = state.Step;
            for (int start = 0; start < order.Length; start += _options.BatchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = torch.NewDisposeScope();
                var items = order.AsSpan(start, Math.Min(_options.BatchSize, order.Length - start)).ToArray();
                var batch = collator.Collate(items);
                double factor = schedule.Factor(step);
                foreach (var g in groups) g.Group.LearningRate = g.BaseLearningRate * factor;

                optimizer.ZeroGrad();
                using var terms = model.Forward(batch);
                terms.Total.backward();
                gradNorm += _options.MaxGradNorm > 0
                    ? torch.nn.utils.clip_grad_norm_(trainable, _options.MaxGradNorm)
                    : torch.nn.utils.clip_grad_norm_(trainable, double.PositiveInfinity);
                optimizer.Step();
                step++;
                loss += terms.Total.item<float>() * items.Length;
                crossEntropy += terms.CrossEntropy.item<float>() * items.Length;
                margin += terms.Margin.item<float>() * items.Length;
                Batches?.Report(new BatchProgress(epoch, _options.Epochs, BatchPhase.Train, Math.Min(start + items.Length, order.Length), order.Length));
            }

            var validation = Scoring.Predict(model, collator, data.Validation, _options.BatchSize,
                Batches is null ? null : new SynchronousProgress<(int Done, int Total)>(
                    d => Batches.Report(new BatchProgress(epoch, _options.Epochs, BatchPhase.Validate, d.Done, d.Total))));
            var metrics = validation.Metrics(model.LabelNames.Count);
            bool improved = metrics.WeightedF1 > state.BestValidationWeightedF1;
            if (improved) model.SaveCheckpoint(BestCheckpointDir, ModelVersion, Describe(state, epoch));
            int without = improved ? 0 : state.EpochsWithoutImprovement + 1;
            state = state with
            {
                Epoch = epoch,
                Step = step,
                BestEpoch = improved ? epoch : state.BestEpoch,
                BestValidationWeightedF1 = improved ? metrics.WeightedF1 : state.BestValidationWeightedF1,
                EpochsWithoutImprovement = without,
                StoppedEarly = _options.EarlyStoppingPatience > 0 && without >= _options.EarlyStoppingPatience,
            };

            var cacheAfter = Cache?.Stats;
            var record = new EpochRecord
            {
                Epoch = epoch,
                Step = step,
                TrainLoss = loss / order.Length,
                TrainCrossEntropy = crossEntropy / order.Length,
                TrainMargin = margin / order.Length,
                ValidationLoss = validation.Loss,
                ValidationAccuracy = metrics.Accuracy,
                ValidationWeightedF1 = metrics.WeightedF1,
                ValidationMacroF1 = metrics.MacroF1,
                ValidationUnweightedAccuracy = metrics.UnweightedAccuracy,
                LearningRateWav2Vec2 = _options.LearningRateWav2Vec2 * schedule.Factor(step - 1),
                LearningRateNew = _options.LearningRateNew * schedule.Factor(step - 1),
                GradNorm = gradNorm / stepsPerEpoch,
                Seconds = clock.Elapsed.TotalSeconds,
                CacheHits = (cacheAfter?.Hits ?? 0) - (cacheBefore?.Hits ?? 0),
                CacheMisses = (cacheAfter?.Misses ?? 0) - (cacheBefore?.Misses ?? 0),
                IsBest = improved,
            };
            // The log line goes first: a crash before the checkpoint leaves a line that resume drops.
            File.AppendAllText(Path.Combine(OutputDir, LogFile), JsonSerializer.Serialize(record, LogJson) + "\n");
            SaveLast(model, optimizer, state);
            history.Add(record);
            ReportProgress(record, runClock.Elapsed.TotalSeconds / history.Count * (_options.Epochs - epoch), state.StoppedEarly);
            epochs?.Report(record);
        }

        if (!Directory.Exists(BestCheckpointDir))
            throw new InvalidOperationException($"{BestCheckpointDir}: no best checkpoint; the run has completed no epoch");
        LoadWeights(model, BestCheckpointDir);
        var test = Scoring.Predict(model, collator, data.Test, _options.BatchSize);
        var testMetrics = test.Metrics(model.LabelNames.Count);
        Scoring.WriteReport(OutputDir, model.LabelNames, test, testMetrics, new JsonObject
        {
            ["best_epoch"] = state.BestEpoch,
            ["best_validation_weighted_f1"] = state.BestValidationWeightedF1,
            ["epochs_completed"] = state.Epoch,
        });
        return new TrainingResult(history, state.Epoch, state.BestEpoch, state.BestValidationWeightedF1, state.StoppedEarly, testMetrics, OutputDir);
    }

    private TrainerState StartFresh()
    {
        // A fresh run owns its folder's run files; the feature cache is kept, it is keyed by the frozen weights.
        foreach (var dir in new[] { LastCheckpointDir, BestCheckpointDir })
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        foreach (var file in new[] { LogFile, MetricsFile, PredictionsFile })
            File.Delete(Path.Combine(OutputDir, file));
        DeleteOptimizerFiles(keep: null);
        return new TrainerState { Seed = _options.Seed };
    }

    private TrainerState Restore(IEmotionClassifier model, HeldScalarAdamW optimizer)
    {
        var manifest = ModelCheckpoint.ReadManifest(LastCheckpointDir);
        if (manifest.ModelType != model.ModelType)
            throw new CheckpointException($"{LastCheckpointDir}: the checkpoint holds a '{manifest.ModelType}' model; cannot resume into a '{model.ModelType}' model");
        if (!JsonNode.DeepEquals(manifest.Config, model.Config()))
            throw new CheckpointException($"{LastCheckpointDir}: the checkpoint was trained with another model configuration; cannot resume into this model");
        var state = manifest.Training?.Deserialize<TrainerState>()
                    ?? throw new CheckpointException($"{LastCheckpointDir}: {ModelCheckpoint.ManifestFile} has no training state");
        if (state.Seed != _options.Seed)
            throw new ArgumentException($"{LastCheckpointDir}: the run used seed {state.Seed}, the options say {_options.Seed}; resume with the same seed");
        LoadWeights(model, LastCheckpointDir);
        string optimizerPath = Path.Combine(OutputDir, CheckpointsFolder, state.OptimizerState
            ?? throw new CheckpointException($"{LastCheckpointDir}: training state names no optimizer_state file"));
        if (!File.Exists(optimizerPath)) throw new CheckpointException($"{optimizerPath}: optimizer state of epoch {state.Epoch} is missing");
        try
        {
            optimizer.Load(optimizerPath);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw new CheckpointException($"{optimizerPath}: cannot restore the optimizer: {e.Message}", e);
        }
        TruncateLog(state.Epoch);
        return state;
    }

    private void SaveLast(IEmotionClassifier model, HeldScalarAdamW optimizer, TrainerState state)
    {
        string folder = Path.Combine(OutputDir, CheckpointsFolder);
        Directory.CreateDirectory(folder);
        string name = $"optimizer-epoch-{state.Epoch:D4}.bin";
        string staging = Path.Combine(folder, name + ".tmp");
        optimizer.Save(staging);
        File.Move(staging, Path.Combine(folder, name), overwrite: true);
        var withOptimizer = state with { OptimizerState = name };
        model.SaveCheckpoint(LastCheckpointDir, ModelVersion, JsonSerializer.SerializeToNode(withOptimizer)!.AsObject());
        DeleteOptimizerFiles(keep: name);
    }

    private void DeleteOptimizerFiles(string? keep)
    {
        string folder = Path.Combine(OutputDir, CheckpointsFolder);
        if (!Directory.Exists(folder)) return;
        foreach (var file in Directory.GetFiles(folder, "optimizer-epoch-*"))
            if (Path.GetFileName(file) != keep) File.Delete(file);
    }

    private void TruncateLog(int lastEpoch)
    {
        string path = Path.Combine(OutputDir, LogFile);
        if (!File.Exists(path)) return;
        var kept = File.ReadAllLines(path)
            .Where(line => line.Length > 0 && JsonSerializer.Deserialize<EpochRecord>(line)!.Epoch <= lastEpoch)
            .Select(line => line + "\n");
        WriteAtomic(path, string.Concat(kept));
    }

    private JsonObject Describe(TrainerState state, int epoch) => new()
    {
        ["epoch"] = epoch,
        ["seed"] = state.Seed,
        ["options"] = JsonNode.Parse(_options.ToJson()),
    };

    private static void LoadWeights(IEmotionClassifier model, string folder)
    {
        var (_, weights) = ModelCheckpoint.Load(folder);
        try
        {
            StateDictLoader.Load(model.Module, weights, Path.Combine(folder, ModelCheckpoint.WeightsFile));
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }

    private List<(HeldScalarAdamW.Group Group, double BaseLearningRate)> ParameterGroups(IEmotionClassifier model)
    {
        var groups = new List<(HeldScalarAdamW.Group, double)>();
        var trainable = model.TrainableParameters().ToArray();
        foreach (bool audio in new[] { true, false })
            foreach (bool decay in new[] { true, false })
            {
                // Biases and normalisation gains are vectors; decaying them towards zero only hurts.
                var members = trainable.Where(p => model.IsPretrained(p.Name) == audio && (p.Parameter.dim() > 1) == decay)
                    .Select(p => p.Parameter).ToArray();
                if (members.Length == 0) continue;
                double lr = audio ? _options.LearningRateWav2Vec2 : _options.LearningRateNew;
                groups.Add((new HeldScalarAdamW.Group(members, lr, _options.Beta1, _options.Beta2, _options.Eps, decay ? _options.WeightDecay : 0), lr));
            }
        return groups;
    }

    private ITrainingItem[] Shuffled(IReadOnlyList<ITrainingItem> items, int epoch)
    {
        var order = items.ToArray();
        new Random(unchecked(_options.Seed * 7919 + epoch)).Shuffle(order);
        return order;
    }

    private void ReportProgress(EpochRecord r, double etaSeconds, bool stopping)
    {
        var eta = TimeSpan.FromSeconds(Math.Max(0, Math.Round(etaSeconds)));
        _progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"epoch {r.Epoch}/{_options.Epochs}  train loss {r.TrainLoss:F4}  val loss {r.ValidationLoss:F4}  val wF1 {r.ValidationWeightedF1:F4}  " +
            $"val acc {r.ValidationAccuracy:F4}{(r.IsBest ? " *" : "")}  lr {r.LearningRateNew:0.00e+0}  {r.Seconds:F1} s  " +
            $"ETA {(stopping ? "stopping early" : eta.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture))}"));
        _progress.Flush();
    }

    private static void WriteAtomic(string path, string text)
    {
        string staging = path + ".tmp";
        File.WriteAllText(staging, text);
        File.Move(staging, path, overwrite: true);
    }
}
