using TorchSharp;
using WavFusion.Models.Fusion;
using static TorchSharp.torch;
using WavFusion.Models.Layers;

namespace WavFusion.Tests.Fusion;

public sealed class ModalityDropoutTests
{
    private const int N = 20000;

    private static AuxiliaryModalities Streams() =>
        new(new ModalitySequence(torch.zeros(N, 2, 1)), new ModalitySequence(torch.zeros(N, 3, 1)));

    [Fact]
    public void Each_stream_is_dropped_independently_with_the_configured_probability()
    {
        using var _ = torch.NewDisposeScope();
        var dropout = new ModalityDropout(0.3, new Generator(42));
        var (text, visual) = dropout.Apply(Streams()).Presence(N, torch.CPU);
        var droppedText = text.logical_not().to(ScalarType.Float32).mean().item<float>();
        var droppedVisual = visual.logical_not().to(ScalarType.Float32).mean().item<float>();
        var droppedBoth = text.logical_or(visual).logical_not().to(ScalarType.Float32).mean().item<float>();
        // Binomial standard deviation at p = 0.3, n = 20000 is 0.0032; allow ~5σ.
        Assert.InRange(droppedText, 0.284, 0.316);
        Assert.InRange(droppedVisual, 0.284, 0.316);
        Assert.InRange(droppedBoth, 0.09 - 0.011, 0.09 + 0.011);
    }

    [Fact]
    public void A_seeded_generator_reproduces_the_drops_and_another_seed_does_not()
    {
        using var _ = torch.NewDisposeScope();
        var a = new ModalityDropout(0.5, new Generator(7)).Apply(Streams());
        var b = new ModalityDropout(0.5, new Generator(7)).Apply(Streams());
        var c = new ModalityDropout(0.5, new Generator(8)).Apply(Streams());
        Assert.True(a.Text!.Mask.eq(b.Text!.Mask).all().item<bool>());
        Assert.True(a.Visual!.Mask.eq(b.Visual!.Mask).all().item<bool>());
        Assert.False(a.Text.Mask.eq(c.Text!.Mask).all().item<bool>());
    }

    [Fact]
    public void Probability_zero_keeps_everything_one_drops_everything_and_absent_streams_stay_absent()
    {
        using var _ = torch.NewDisposeScope();
        var kept = new ModalityDropout(0.0, new Generator(1)).Apply(Streams());
        Assert.True(kept.Text!.Mask.all().item<bool>());
        Assert.True(kept.Visual!.Mask.all().item<bool>());
        var dropped = new ModalityDropout(1.0, new Generator(1)).Apply(Streams());
        Assert.False(dropped.Text!.Mask.any().item<bool>());
        var partial = new ModalityDropout(0.5, new Generator(1)).Apply(new AuxiliaryModalities(null, Streams().Visual));
        Assert.Null(partial.Text);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ModalityDropout(1.5, new Generator(1)));
    }
}
