using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace WavFusion.Training.Trainer;

/// <summary>
/// AdamW with decoupled weight decay (Loshchilov and Hutter), the same arithmetic in the same order as
/// <c>TorchSharp.Modules.AdamW.step</c>, so its updates match TorchSharp's bit for bit; without AMSGrad and maximise,
/// which no experiment uses.
/// </summary>
/// <remarks>
/// It exists because TorchSharp's AdamW turns about nine doubles per parameter per step into temporary
/// <see cref="Scalar"/>s whose finalizer frees the native value while libtorch may still be reading it: a garbage
/// collection on another thread in that window crashes the step or silently changes the update. Here every Scalar is
/// held for as long as native code can see it: constants in static fields, per-step values in <c>using</c> locals.
/// Its state file has TorchSharp's AdamW format (and its type tag), so checkpoints written before this optimiser load.
/// </remarks>
public sealed class HeldScalarAdamW : IDisposable
{
    /// <summary>The type tag TorchSharp's <c>save_state_dict</c> writes first; kept so both read each other's files.</summary>
    private const string StateTypeTag = "AdamW";

    private static readonly Scalar One = 1.0.ToScalar();

    private readonly List<Group> _groups;
    private readonly Dictionary<Parameter, Moments> _moments = new(ReferenceEqualityComparer.Instance);
    private bool _disposed;

    public HeldScalarAdamW(IEnumerable<Group> groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        _groups = groups.ToList();
        foreach (var group in _groups)
            foreach (var p in group.Parameters)
                if (!_moments.TryAdd(p, new Moments(p)))
                    throw new ArgumentException("a parameter appears in more than one group", nameof(groups));
    }

    public IReadOnlyList<Group> Groups => _groups;

    /// <summary>One parameter group: its own learning rate (set per step by a schedule), betas, ε and weight decay.</summary>
    public sealed class Group
    {
        public Group(IEnumerable<Parameter> parameters, double lr, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0)
        {
            ArgumentNullException.ThrowIfNull(parameters);
            if (lr < 0) throw new ArgumentOutOfRangeException(nameof(lr), lr, "the learning rate must not be negative");
            if (beta1 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "beta1 must be in [0, 1)");
            if (beta2 is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "beta2 must be in [0, 1)");
            if (eps < 0) throw new ArgumentOutOfRangeException(nameof(eps), eps, "ε must not be negative");
            if (weightDecay < 0) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "the weight decay must not be negative");
            Parameters = parameters.ToArray();
            LearningRate = InitialLearningRate = lr;
            Beta1 = beta1;
            Beta2 = beta2;
            Eps = eps;
            WeightDecay = weightDecay;
        }

        public IReadOnlyList<Parameter> Parameters { get; }
        public double LearningRate { get; set; }
        public double InitialLearningRate { get; private set; }
        public double Beta1 { get; private set; }
        public double Beta2 { get; private set; }
        public double Eps { get; private set; }
        public double WeightDecay { get; private set; }

        internal void Write(BinaryWriter writer)
        {
            writer.Write(InitialLearningRate);
            writer.Write(LearningRate);
            writer.Write(Beta1);
            writer.Write(Beta2);
            writer.Write(Eps);
            writer.Write(WeightDecay);
            writer.Write(false); // amsgrad
            writer.Write(false); // maximize
        }

        internal void Read(BinaryReader reader)
        {
            InitialLearningRate = reader.ReadDouble();
            LearningRate = reader.ReadDouble();
            Beta1 = reader.ReadDouble();
            Beta2 = reader.ReadDouble();
            Eps = reader.ReadDouble();
            WeightDecay = reader.ReadDouble();
            bool amsgrad = reader.ReadBoolean(), maximize = reader.ReadBoolean();
            if (amsgrad || maximize)
                throw new InvalidDataException($"the saved group uses {(amsgrad ? "AMSGrad" : "maximize")}, which this optimiser does not implement");
        }
    }

    /// <summary>Zeroes every gradient in place (as TorchSharp's optimisers do), keeping the gradient tensors.</summary>
    public void ZeroGrad()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (var group in _groups)
            foreach (var p in group.Parameters)
            {
                using var grad = p.grad;
                grad?.zero_();
            }
    }

    /// <summary>One update of every parameter that has a gradient; parameters without one keep their step count.</summary>
    public void Step()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var noGrad = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        foreach (var group in _groups)
            StepGroup(group);
    }

    private void StepGroup(Group group)
    {
        double lr = group.LearningRate;
        using var decay = (1 - lr * group.WeightDecay).ToScalar();
        using var beta1 = group.Beta1.ToScalar();
        using var beta2 = group.Beta2.ToScalar();
        using var gradWeight = (1 - group.Beta1).ToScalar();
        using var squareWeight = (1 - group.Beta2).ToScalar();
        using var eps = group.Eps.ToScalar();
        // Parameters that missed a step (no gradient yet) have their own count, hence their own corrections.
        using var corrections = new StepCorrections(group);

        foreach (var p in group.Parameters)
        {
            using var grad = p.grad;
            if (grad is null) continue;
            var m = _moments[p];
            m.Step++;
            // x * 1 is x for every float, so skipping the decay-free groups changes no bit.
            if (group.WeightDecay != 0) p.mul_(decay);
            m.ExpAvg.mul_(beta1).add_(grad, gradWeight);
            m.ExpAvgSq.mul_(beta2).addcmul_(grad, grad, squareWeight);
            var (sqrtCorrection2, negativeStepSize) = corrections.For(m.Step);
            using var denom = m.ExpAvgSq.sqrt();
            denom.div_(sqrtCorrection2).add_(eps, One);
            p.addcdiv_(m.ExpAvg, denom, negativeStepSize);
        }
    }

    /// <summary>Writes the moments and group settings in TorchSharp's AdamW <c>save_state_dict</c> layout.</summary>
    public void Save(string path)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var stream = File.Create(path);
        using var writer = new BinaryWriter(stream);
        writer.Write(StateTypeTag);
        writer.Write7BitEncodedInt64(_groups.Count);
        writer.Write7BitEncodedInt64(_moments.Count);
        foreach (var group in _groups) group.Write(writer);
        foreach (var group in _groups)
            foreach (var p in group.Parameters)
                _moments[p].Write(writer);
    }

    /// <summary>Restores what <see cref="Save"/> (or TorchSharp's AdamW) wrote for the same groups of the same shapes.</summary>
    /// <exception cref="InvalidDataException">Another optimiser's file, another layout of groups, or a feature not implemented here.</exception>
    public void Load(string path)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream);
        string tag = reader.ReadString();
        if (tag != StateTypeTag) throw new InvalidDataException($"{path}: state of a '{tag}' optimiser, expected '{StateTypeTag}'");
        long groups = reader.Read7BitEncodedInt64(), states = reader.Read7BitEncodedInt64();
        if (groups != _groups.Count || states != _moments.Count)
            throw new InvalidDataException($"{path}: {groups} groups of {states} parameters saved, this optimiser has {_groups.Count} groups of {_moments.Count}");
        foreach (var group in _groups) group.Read(reader);
        foreach (var group in _groups)
            foreach (var p in group.Parameters)
                _moments[p].Read(reader, path);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var m in _moments.Values) m.Dispose();
    }

    private sealed class Moments : IDisposable
    {
        public Moments(Parameter parameter)
        {
            ExpAvg = torch.zeros_like(parameter).DetachFromDisposeScope();
            ExpAvgSq = torch.zeros_like(parameter).DetachFromDisposeScope();
        }

        public long Step { get; set; }
        public Tensor ExpAvg { get; }
        public Tensor ExpAvgSq { get; }

        public void Write(BinaryWriter writer)
        {
            writer.Write(Step);
            ExpAvg.Save(writer);
            ExpAvgSq.Save(writer);
            writer.Write(false); // no AMSGrad maximum
        }

        public void Read(BinaryReader reader, string path)
        {
            Step = reader.ReadInt64();
            try
            {
                ExpAvg.Load(reader);
                ExpAvgSq.Load(reader);
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"{path}: {e.Message}", e);
            }
            if (reader.ReadBoolean()) throw new InvalidDataException($"{path}: the saved state has AMSGrad maxima, which this optimiser does not implement");
        }

        public void Dispose()
        {
            ExpAvg.Dispose();
            ExpAvgSq.Dispose();
        }
    }

    /// <summary>The step-dependent Scalars of one group and one step, made once per distinct step count and held to the end of the step.</summary>
    private sealed class StepCorrections(Group group) : IDisposable
    {
        private readonly Dictionary<long, (Scalar SqrtCorrection2, Scalar NegativeStepSize)> _byStep = [];

        public (Scalar SqrtCorrection2, Scalar NegativeStepSize) For(long step)
        {
            if (_byStep.TryGetValue(step, out var held)) return held;
            double correction1 = 1 - Math.Pow(group.Beta1, step);
            double correction2 = 1 - Math.Pow(group.Beta2, step);
            held = (Math.Sqrt(correction2).ToScalar(), (-(group.LearningRate / correction1)).ToScalar());
            _byStep.Add(step, held);
            return held;
        }

        public void Dispose()
        {
            foreach (var (a, b) in _byStep.Values)
            {
                a.Dispose();
                b.Dispose();
            }
        }
    }
}
