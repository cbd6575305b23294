using TorchSharp;
using WavFusion.Models.Fusion;
using static TorchSharp.torch;

namespace WavFusion.Tests.Fusion;

public sealed class MarginLossTests
{
    private static Tensor Rows(params float[][] rows) =>
        torch.tensor(rows.SelectMany(r => r).ToArray(), rows.Length, rows[0].Length);

    private static Tensor Longs(params long[] v) => torch.tensor(v);

    private static Tensor Bools(params bool[] v) => torch.tensor(v);

    [Fact]
    public void Hand_computed_two_modality_batch_averages_the_hinges_of_all_four_triplets()
    {
        // Items: a0=(1,0) c0, a1=(1,1) c1 (audio); t0=(0,1) c0, t1=(1,0) c1 (text).
        // i=a0: j=t0 cos 0, k=a1 cos 1/√2 → 0.5 + 0.7071 = 1.2071
        // i=a1: j=t1 cos 1/√2, k=a0 cos 1/√2 → 0.5
        // i=t0: j=a0 cos 0, k=t1 cos 0 → 0.5
        // i=t1: j=a1 cos 1/√2, k=t0 cos 0 → max(0, 0.5 − 0.7071) = 0
        using var _ = torch.NewDisposeScope();
        var loss = MarginLoss.TripletLoss(
            Rows([1, 0], [1, 1], [0, 1], [1, 0]), Longs(0, 0, 1, 1), Longs(0, 1, 0, 1), Bools(true, true, true, true), 0.5);
        Assert.Equal((1.5 + 1 / Math.Sqrt(2)) / 4, loss.item<float>(), 5);
    }

    [Fact]
    public void Absent_items_take_no_part_in_any_triplet()
    {
        using var _ = torch.NewDisposeScope();
        // The same batch plus two visual items that would form many triplets if they were present.
        var loss = MarginLoss.TripletLoss(
            Rows([1, 0], [1, 1], [0, 1], [1, 0], [-1, 0], [0, -1]), Longs(0, 0, 1, 1, 2, 2), Longs(0, 1, 0, 1, 0, 1),
            Bools(true, true, true, true, false, false), 0.5);
        Assert.Equal((1.5 + 1 / Math.Sqrt(2)) / 4, loss.item<float>(), 5);
    }

    [Fact]
    public void A_batch_without_valid_triplets_gives_zero_loss_and_zero_gradient()
    {
        using var _ = torch.NewDisposeScope();
        // All one class: no negative k exists.
        var x = Rows([1, 0], [0, 1], [1, 1], [1, -1]).requires_grad_(true);
        var loss = MarginLoss.TripletLoss(x, Longs(0, 0, 1, 1), Longs(2, 2, 2, 2), Bools(true, true, true, true), 0.5);
        Assert.Equal(0f, loss.item<float>());
        loss.backward();
        Assert.True(x.grad is not null && x.grad.abs().max().item<float>() == 0f);

        // One modality only: no positive j in another modality.
        var single = MarginLoss.TripletLoss(Rows([1, 0], [0, 1]), Longs(0, 0), Longs(0, 1), Bools(true, true), 0.5);
        Assert.Equal(0f, single.item<float>());
    }

    [Fact]
    public void Vectorised_loss_equals_a_brute_force_loop_over_all_triplets()
    {
        using var _ = torch.NewDisposeScope();
        torch.manual_seed(3);
        const int n = 12;
        var x = torch.randn(n, 5);
        var m = torch.tensor(new long[] { 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2 });
        var c = torch.tensor(new long[] { 0, 0, 0, 1, 1, 1, 0, 0, 0, 2, 2, 2 });
        var p = torch.tensor(new[] { true, true, true, true, false, true, true, true, true, true, true, false });
        const double alpha = 0.3;
        var loss = MarginLoss.TripletLoss(x, m, c, p, alpha).item<float>();

        var u = nn.functional.normalize(x, dim: 1);
        var cos = u.matmul(u.t()).data<float>().ToArray();
        var mv = m.data<long>().ToArray();
        var cv = c.data<long>().ToArray();
        var pv = p.data<bool>().ToArray();
        double sum = 0;
        var count = 0;
        for (var i = 0; i < n; i++)
            for (var j = 0; j < n; j++)
                for (var k = 0; k < n; k++)
                {
                    if (!pv[i] || !pv[j] || !pv[k] || mv[i] == mv[j] || mv[i] != mv[k] || cv[i] != cv[j] || cv[i] == cv[k]) continue;
                    sum += Math.Max(0, alpha - cos[i * n + j] + cos[i * n + k]);
                    count++;
                }
        Assert.True(count > 0);
        Assert.Equal(sum / count, loss, 5);
    }

    [Fact]
    public void Module_adapts_only_differing_widths_and_reproduces_the_hand_computed_case()
    {
        using var _ = torch.NewDisposeScope();
        using var module = new MarginLoss(audioDim: 2, textDim: 2, visualDim: 3, commonDim: 2, projectionDim: 2, alpha: 0.5);
        var keys = module.state_dict().Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
        Assert.Equal(new[] { "encoder.bias", "encoder.weight", "visual_adapter.bias", "visual_adapter.weight" }, keys);
        using (torch.no_grad())
        {
            module.state_dict()["encoder.weight"].copy_(torch.eye(2));
            module.state_dict()["encoder.bias"].zero_();
        }
        var vectors = new UtteranceVectors(
            Audio: Rows([1, 0], [1, 1]), Text: Rows([0, 1], [1, 0]), TextPresent: null,
            Visual: Rows([5, 1, 2], [3, 3, 3]), VisualPresent: Bools(false, false));
        var loss = module.call(vectors, Longs(0, 1));
        Assert.Equal((1.5 + 1 / Math.Sqrt(2)) / 4, loss.item<float>(), 5);

        var noAux = module.call(new UtteranceVectors(Rows([1, 0], [1, 1]), null, null, null, null), Longs(0, 1));
        Assert.Equal(0f, noAux.item<float>());
    }
}
