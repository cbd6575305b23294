using TorchSharp;
using TorchSharp.Modules;
using WavFusion.Tests.Infrastructure;
using WavFusion.Training.Trainer;
using static TorchSharp.torch;

namespace WavFusion.Tests.Trainer;

public sealed class HeldScalarAdamWTests
{
    private const int Steps = 7;

    /// <summary>Three groups: matrices with decay, vectors without, and a late matrix that has no gradient for its first steps.</summary>
    private sealed class Parameters : IDisposable
    {
        public Parameters(int seed)
        {
            using var gen = new Generator((ulong)seed);
            Decayed = [new Parameter(torch.randn([5, 4], generator: gen)), new Parameter(torch.randn([3, 5], generator: gen))];
            Plain = [new Parameter(torch.randn([5], generator: gen)), new Parameter(torch.randn([3], generator: gen))];
            Late = [new Parameter(torch.randn([2, 3], generator: gen))];
        }

        public Parameter[] Decayed { get; }
        public Parameter[] Plain { get; }
        public Parameter[] Late { get; }
        public IEnumerable<Parameter> All => Decayed.Concat(Plain).Concat(Late);

        public void Dispose()
        {
            foreach (var p in All) p.Dispose();
        }
    }

    private static readonly (double Lr, double Wd)[] GroupSettings = [(1e-2, 0.05), (3e-3, 0), (5e-3, 0.01)];

    private static HeldScalarAdamW Ours(Parameters p) => new(
    [
        new HeldScalarAdamW.Group(p.Decayed, GroupSettings[0].Lr, 0.9, 0.98, 1e-6, GroupSettings[0].Wd),
        new HeldScalarAdamW.Group(p.Plain, GroupSettings[1].Lr, 0.9, 0.98, 1e-6, GroupSettings[1].Wd),
        new HeldScalarAdamW.Group(p.Late, GroupSettings[2].Lr, 0.8, 0.999, 1e-8, GroupSettings[2].Wd),
    ]);

    private static AdamW TorchSharps(Parameters p) => new(
    [
        new AdamW.ParamGroup(p.Decayed, GroupSettings[0].Lr, 0.9, 0.98, 1e-6, GroupSettings[0].Wd),
        new AdamW.ParamGroup(p.Plain, GroupSettings[1].Lr, 0.9, 0.98, 1e-6, GroupSettings[1].Wd),
        new AdamW.ParamGroup(p.Late, GroupSettings[2].Lr, 0.8, 0.999, 1e-8, GroupSettings[2].Wd),
    ]);

    /// <summary>The same gradients for every copy: drawn from the step number, the late group's only from step 3.</summary>
    private static void SetGradients(Parameters p, int step)
    {
        using var gen = new Generator((ulong)(1000 + step));
        foreach (var q in p.Decayed.Concat(p.Plain))
            q.grad = torch.randn(q.shape, generator: gen);
        if (step >= 3)
            foreach (var q in p.Late)
                q.grad = torch.randn(q.shape, generator: gen);
    }

    /// <summary>A warm-up-like schedule, so the learning rate changes between every two steps as in the trainer.</summary>
    private static double Factor(int step) => step < 3 ? (step + 1) / 3.0 : 1.0 - 0.1 * step;

    private static void StepOurs(HeldScalarAdamW optimizer, Parameters p, int step)
    {
        using var scope = torch.NewDisposeScope();
        SetGradients(p, step);
        for (int g = 0; g < GroupSettings.Length; g++) optimizer.Groups[g].LearningRate = GroupSettings[g].Lr * Factor(step);
        optimizer.Step();
    }

    private static void StepTorchSharps(AdamW optimizer, Parameters p, int step)
    {
        using var scope = torch.NewDisposeScope();
        SetGradients(p, step);
        var groups = optimizer.ParamGroups.ToArray();
        for (int g = 0; g < GroupSettings.Length; g++) groups[g].LearningRate = GroupSettings[g].Lr * Factor(step);
        optimizer.step();
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && torch.equal(a, b).all().item<bool>();

    private static void AssertBitIdentical(Parameters expected, Parameters actual, string when)
    {
        foreach (var (e, a) in expected.All.Zip(actual.All))
            Assert.True(Same(e, a), $"{when}: {e.ne(a).sum().item<long>()} of {e.numel()} elements of a parameter differ");
    }

    [Fact]
    public void Updates_match_TorchSharps_AdamW_bit_for_bit_over_groups_decay_and_changing_learning_rates()
    {
        using var reference = new Parameters(3);
        using var ours = new Parameters(3);
        using var theirs = TorchSharps(reference);
        using var held = Ours(ours);
        using var start = new Parameters(3);

        for (int step = 0; step < Steps; step++)
        {
            StepTorchSharps(theirs, reference, step);
            StepOurs(held, ours, step);
            AssertBitIdentical(reference, ours, $"after step {step}");
        }
        // The test would pass vacuously if nothing moved, or if the late group had been stepped from the start.
        Assert.All(ours.All.Zip(start.All), pair => Assert.False(Same(pair.First, pair.Second)));

        // Same moments and step counts: TorchSharp's state file and ours are the same bytes.
        using var dir = new TempDir();
        theirs.save_state_dict(dir.File("theirs.bin"));
        held.Save(dir.File("ours.bin"));
        Assert.Equal(File.ReadAllBytes(dir.File("theirs.bin")), File.ReadAllBytes(dir.File("ours.bin")));
    }

    [Fact]
    public void A_run_resumed_from_saved_state_continues_exactly_like_an_uninterrupted_one_from_either_writer()
    {
        using var dir = new TempDir();
        using var straight = new Parameters(5);
        using (var optimizer = Ours(straight))
            for (int step = 0; step < Steps; step++) StepOurs(optimizer, straight, step);

        foreach (var writer in new[] { "ours", "torchsharp" })
        {
            using var resumed = new Parameters(5);
            string path = dir.File(writer + ".bin");
            using (var first = Ours(resumed))
            using (var theirs = TorchSharps(resumed))
            {
                for (int step = 0; step < 4; step++)
                    if (writer == "ours") StepOurs(first, resumed, step);
                    else StepTorchSharps(theirs, resumed, step);
                if (writer == "ours") first.Save(path);
                else theirs.save_state_dict(path);
            }
            // A fresh optimiser restarts the moments at zero: only the loaded state can make the tail match.
            using var second = Ours(resumed);
            second.Load(path);
            Assert.Equal(GroupSettings[0].Lr * Factor(3), second.Groups[0].LearningRate);
            for (int step = 4; step < Steps; step++) StepOurs(second, resumed, step);
            AssertBitIdentical(straight, resumed, $"resumed from the state {writer} wrote");
        }
    }

    [Fact]
    public void State_of_another_layout_is_refused_naming_the_file()
    {
        using var dir = new TempDir();
        using var p = new Parameters(1);
        using var three = Ours(p);
        three.Save(dir.File("three.bin"));
        using var two = new HeldScalarAdamW([new HeldScalarAdamW.Group(p.Decayed, 1e-3), new HeldScalarAdamW.Group(p.Plain, 1e-3)]);
        var e = Assert.Throws<InvalidDataException>(() => two.Load(dir.File("three.bin")));
        Assert.Contains("three.bin", e.Message, StringComparison.Ordinal);

        using var sgd = torch.optim.SGD(p.All, 0.1);
        sgd.save_state_dict(dir.File("sgd.bin"));
        Assert.Throws<InvalidDataException>(() => three.Load(dir.File("sgd.bin")));
    }
}
