using TorchSharp;
using WavFusion.Models.Fusion;
using static TorchSharp.torch;
using WavFusion.Models.Layers;
using WavFusion.Models.Branches;

namespace WavFusion.Tests.Fusion;

[Collection(SeededTorchCollection.Name)]
public sealed class BranchTests
{
    private const int Din = 12;

    /// <summary>Lengths 5, 2, 4 and one absent sample, padded to <paramref name="time"/> frames filled with large noise.</summary>
    private static ModalitySequence Padded(Tensor valid, int time)
    {
        var lengths = new[] { 5, 2, 4, 0 };
        var b = lengths.Length;
        var mask = torch.zeros(b, time, dtype: ScalarType.Bool);
        for (var i = 0; i < b; i++) mask[i, TensorIndex.Slice(0, lengths[i])] = torch.tensor(true);
        var noise = torch.randn(b, time, Din) * 50;
        var padded = torch.cat(new[] { valid, torch.zeros(b, time - valid.shape[1], Din) }, 1);
        return new ModalitySequence(torch.where(mask.unsqueeze(-1), padded, noise), mask);
    }

    private static void AssertPaddingInvariant(Func<ModalitySequence, Tensor> run)
    {
        var valid = torch.randn(4, 5, Din);
        var shortPad = Padded(valid, 5);
        var longPad = Padded(valid, 9);
        var a = run(shortPad);
        var b = run(longPad);
        var m = shortPad.Mask.unsqueeze(-1);
        Assert.True((a * m).allclose(b[.., ..5] * m, atol: 1e-4), "valid frames depend on padding");
        Assert.Equal(0f, (a * m.logical_not()).abs().max().item<float>());
        Assert.Equal(0f, (b * longPad.Mask.unsqueeze(-1).logical_not()).abs().max().item<float>());
    }

    private static LearnableVisualCenter Lvc()
    {
        torch.manual_seed(5);
        return new LearnableVisualCenter(Din, channels: 16, bottleneck: 8, numCodes: 6, outputDim: 7);
    }

    [Fact]
    public void Lvc_maps_frames_to_the_projection_width()
    {
        using var _ = torch.NewDisposeScope();
        using var lvc = Lvc();
        var y = lvc.call(new ModalitySequence(torch.randn(3, 9, Din)));
        Assert.Equal(new long[] { 3, 9, 7 }, y.shape);
        Assert.True(y.isfinite().all().item<bool>());
    }

    [Fact]
    public void Lvc_valid_outputs_and_running_statistics_ignore_padding_in_training()
    {
        using var _ = torch.NewDisposeScope();
        torch.manual_seed(1);
        using var first = Lvc();
        using var second = Lvc();
        first.train();
        second.train();
        var valid = torch.randn(4, 5, Din);
        var shortPad = Padded(valid, 5);
        var a = first.call(shortPad);
        var b = second.call(Padded(valid, 9));
        var m = shortPad.Mask.unsqueeze(-1);
        Assert.True((a * m).allclose(b[.., ..5] * m, atol: 1e-4));
        var s1 = first.state_dict();
        var s2 = second.state_dict();
        foreach (var key in s1.Keys.Where(k => k.Contains("running_", StringComparison.Ordinal)))
            Assert.True(s1[key].allclose(s2[key], atol: 1e-5), key);
        Assert.False(s1["bn1.running_mean"].allclose(torch.zeros_like(s1["bn1.running_mean"])), "training did not update the statistics");
    }

    [Fact]
    public void Lvc_in_eval_mode_is_padding_invariant_and_batch_independent()
    {
        using var _ = torch.NewDisposeScope();
        torch.manual_seed(2);
        using var lvc = Lvc();
        lvc.eval();
        AssertPaddingInvariant(s => lvc.call(s));
        var batch = torch.randn(3, 6, Din);
        var together = lvc.call(new ModalitySequence(batch));
        var alone = lvc.call(new ModalitySequence(batch[1..2]));
        Assert.True(together[1..2].allclose(alone, atol: 1e-5));
    }

    [Fact]
    public void Lvc_keys_follow_the_conv_block_and_codebook_layout()
    {
        using var lvc = Lvc();
        var sd = lvc.state_dict();
        Assert.Equal(new long[] { 8, Din, 1 }, sd["conv1.weight"].shape);
        Assert.Equal(new long[] { 8, 8, 3 }, sd["conv2.weight"].shape);
        Assert.Equal(new long[] { 16, 8, 1 }, sd["conv3.weight"].shape);
        Assert.Equal(new long[] { 6, 16 }, sd["codewords"].shape);
        Assert.Equal(new long[] { 6 }, sd["smoothing"].shape);
        Assert.Equal(new long[] { 6 }, sd["code_norm.running_var"].shape);
        Assert.Equal(new long[] { 16, 16 }, sd["gate.weight"].shape);
        Assert.Equal(new long[] { 7, 16 }, sd["projection.weight"].shape);
        Assert.Contains("bn3.num_batches_tracked", sd.Keys);
    }

    [Fact]
    public void Visual_block_concatenates_agru_and_lvc_and_drops_lvc_when_disabled()
    {
        using var _ = torch.NewDisposeScope();
        torch.manual_seed(4);
        var options = new VisualBranchOptions
        {
            InputDim = Din, GruHiddenPerDirection = 4, Heads = 2, LvcChannels = 16, LvcBottleneck = 8, LvcCodes = 5, LvcOutputDim = 8,
        };
        using var full = new AGruLvc(options);
        using var noLvc = new AGruLvc(options with { UseLvc = false });
        full.eval();
        noLvc.eval();
        Assert.Equal(16, full.OutputDim);
        Assert.Equal(8, noLvc.OutputDim);
        Assert.DoesNotContain(noLvc.state_dict().Keys, k => k.StartsWith("lvc.", StringComparison.Ordinal));
        Assert.Contains("agru.gru.weight_ih_l0_reverse", full.state_dict().Keys);
        var y = full.call(new ModalitySequence(torch.randn(2, 6, Din)));
        Assert.Equal(new long[] { 2, 6, 16 }, y.Features.shape);
        AssertPaddingInvariant(s => full.call(s).Features);
    }

    [Fact]
    public void Text_branch_is_a_bidirectional_gru_with_residual_attention_and_ignores_padding()
    {
        using var _ = torch.NewDisposeScope();
        torch.manual_seed(6);
        using var text = new TextBranch(inputDim: Din, hiddenPerDirection: 6, numHeads: 3, dropout: 0.0);
        text.eval();
        Assert.Equal(12, text.OutputDim);
        var keys = text.state_dict().Keys.ToHashSet();
        Assert.Contains("gru.weight_hh_l0_reverse", keys);
        Assert.Contains("attention.q_proj.weight", keys);
        Assert.Contains("layer_norm.weight", keys);
        AssertPaddingInvariant(s => text.call(s).Features);
    }
}
