using TorchSharp;
using WavFusion.Core.Checkpoints;

namespace WavFusion.Tests.Checkpoints;

public sealed class ModuleLoadingTests
{
    [Fact]
    public void A_module_that_fails_to_load_is_disposed_and_the_error_passes_through()
    {
        Probe? built = null;
        var error = Assert.Throws<CheckpointException>(() => ModuleLoading.BuildAndLoad(
            () => built = new Probe(),
            _ => throw new CheckpointException("bad weights")));
        Assert.Equal("bad weights", error.Message);
        Assert.True(built!.Disposed);
    }

    [Fact]
    public void A_module_that_loads_is_returned_alive()
    {
        using var linear = ModuleLoading.BuildAndLoad(() => torch.nn.Linear(2, 3), m => m.eval());
        Assert.False(linear.weight!.IsInvalid);
        Assert.False(linear.training);
    }

    [Fact]
    public void What_is_handed_on_stays_undisposed_and_a_failed_hand_over_disposes_it()
    {
        var kept = new Probe();
        Assert.Same(kept, ModuleLoading.DisposeOnFailure(kept, p => p));
        Assert.False(kept.Disposed);

        var dropped = new Probe();
        Assert.Throws<InvalidOperationException>(() => ModuleLoading.DisposeOnFailure<Probe, Probe>(dropped, _ => throw new InvalidOperationException()));
        Assert.True(dropped.Disposed);

        Assert.Null(ModuleLoading.DisposeOnFailure<Probe?, Probe?>(null, p => p));
    }

    private sealed class Probe : IDisposable
    {
        public bool Disposed { get; private set; }

        public void Dispose() => Disposed = true;
    }
}
