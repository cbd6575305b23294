using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace WavFusion.Training.Trainer;

/// <summary>Sums over one epoch's training batches (item-weighted losses, per-step gradient norms) and the step reached.</summary>
public readonly record struct EpochTotals(double Loss, double CrossEntropy, double Margin, double GradNorm, long Step);

/// <summary>
/// The optimisation of <see cref="EmotionClassifierTrainer"/> without its bookkeeping: AdamW over four parameter
/// groups (pretrained vs new, each with and without weight decay), the warm-up/decay schedule per step, global
/// gradient-norm clipping and one dispose scope per batch. The trainer runs its epochs through it, and
/// <c>wavfusion bench train</c> times exactly this loop.
/// </summary>
public sealed class TrainingLoop : IDisposable
{
    private readonly TrainerOptions _options;
    private readonly IEmotionClassifier _model;
    private readonly List<(HeldScalarAdamW.Group Group, double BaseLearningRate)> _groups;
    private readonly Parameter[] _trainable;

    /// <param name="itemsPerEpoch">Training items per epoch: with the options' batch size and epochs, the schedule's length.</param>
    public TrainingLoop(IEmotionClassifier model, TrainerOptions options, int itemsPerEpoch)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        _model = model;
        _options = options;
        _groups = ParameterGroups(model, options);
        Optimizer = new HeldScalarAdamW(_groups.Select(g => g.Group));
        _trainable = model.TrainableParameters().Select(p => p.Parameter).ToArray();
        StepsPerEpoch = (itemsPerEpoch + options.BatchSize - 1) / options.BatchSize;
        long total = options.Epochs * StepsPerEpoch;
        Schedule = new LearningRateSchedule(total, options.WarmupFor(total), options.Decay);
    }

    public HeldScalarAdamW Optimizer { get; }

    public LearningRateSchedule Schedule { get; }

    public long StepsPerEpoch { get; }

    /// <summary>
    /// One pass over <paramref name="order"/> in batches of the options' size, starting at optimiser step
    /// <paramref name="step"/>; <paramref name="batchDone"/> is told the items done after each batch.
    /// </summary>
    public EpochTotals Run(IBatchCollator collator, IReadOnlyList<ITrainingItem> order, long step, Action<int>? batchDone = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(collator);
        ArgumentNullException.ThrowIfNull(order);
        _model.Module.train();
        double loss = 0, crossEntropy = 0, margin = 0, gradNorm = 0;
        for (int start = 0; start < order.Count; start += _options.BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            var items = order.Skip(start).Take(Math.Min(_options.BatchSize, order.Count - start)).ToArray();
            var batch = collator.Collate(items);
            double factor = Schedule.Factor(step);
            foreach (var g in _groups) g.Group.LearningRate = g.BaseLearningRate * factor;

            Optimizer.ZeroGrad();
            using var terms = _model.Forward(batch);
            terms.Total.backward();
            gradNorm += _options.MaxGradNorm > 0
                ? torch.nn.utils.clip_grad_norm_(_trainable, _options.MaxGradNorm)
                : torch.nn.utils.clip_grad_norm_(_trainable, double.PositiveInfinity);
            Optimizer.Step();
            step++;
            loss += terms.Total.item<float>() * items.Length;
            crossEntropy += terms.CrossEntropy.item<float>() * items.Length;
            margin += terms.Margin.item<float>() * items.Length;
            batchDone?.Invoke(Math.Min(start + items.Length, order.Count));
        }
        return new EpochTotals(loss, crossEntropy, margin, gradNorm, step);
    }

    public void Dispose() => Optimizer.Dispose();

    private static List<(HeldScalarAdamW.Group, double)> ParameterGroups(IEmotionClassifier model, TrainerOptions options)
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
                double lr = audio ? options.LearningRateWav2Vec2 : options.LearningRateNew;
                groups.Add((new HeldScalarAdamW.Group(members, lr, options.Beta1, options.Beta2, options.Eps, decay ? options.WeightDecay : 0), lr));
            }
        return groups;
    }
}
