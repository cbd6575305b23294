using TorchSharp;
using WavFusion.Models.Fusion;
using static TorchSharp.torch;
using WavFusion.Models.Layers;

namespace WavFusion.Tests.Fusion;

public sealed class GatedCrossModalAttentionTests
{
    private const int B = 4, T = 5, H = 8, Tt = 3, Dt = 6, Tv = 4, Dv = 10;

    private static GatedCrossModalAttention Build()
    {
        torch.manual_seed(11);
        var module = new GatedCrossModalAttention(H, Dt, Dv, numHeads: 2);
        module.eval();
        return module;
    }

    [Fact]
    public void Output_has_the_audio_shape_for_every_stream_combination()
    {
        using var _ = torch.NewDisposeScope();
        using var module = Build();
        var h = torch.randn(B, T, H);
        var text = new ModalitySequence(torch.randn(B, Tt, Dt));
        var visual = new ModalitySequence(torch.randn(B, Tv, Dv));
        Func<Tensor, Tensor> self = x => x * 3;
        foreach (var aux in new[] { new AuxiliaryModalities(text, visual), new(text, null), new(null, visual), AuxiliaryModalities.None })
        {
            var f = module.call(h, aux, self);
            Assert.Equal(new long[] { B, T, H }, f.shape);
            Assert.True(f.isfinite().all().item<bool>());
        }
    }

    [Fact]
    public void Each_sample_takes_the_path_of_the_streams_it_has()
    {
        using var _ = torch.NewDisposeScope();
        using var module = Build();
        var h = torch.randn(B, T, H);
        // Sample 0 has both, 1 text only, 2 visual only, 3 neither.
        var textMask = torch.tensor(new[] { true, true, true, true, true, false, false, false, false, false, false, false }, B, Tt);
        var visualMask = torch.tensor(new[]
        {
            true, true, false, false, false, false, false, false, true, true, true, true, false, false, false, false,
        }, B, Tv);
        var text = new ModalitySequence(torch.randn(B, Tt, Dt), textMask);
        var visual = new ModalitySequence(torch.randn(B, Tv, Dv), visualMask);
        Func<Tensor, Tensor> self = x => x * 3;

        var fused = module.call(h, new AuxiliaryModalities(text, visual), self);
        var f1 = module.TextAttention.call(h, text);
        var f2 = module.VisualAttention.call(h, visual);
        var sd = module.state_dict();
        var p = torch.sigmoid(nn.functional.linear(torch.cat(new[] { f1, f2 }, -1), sd["gate.weight"], sd["gate.bias"]));
        var gated = p * f1 + (1 - p) * f2;

        Assert.True(fused[0].allclose(gated[0], atol: 1e-6));
        Assert.True(fused[1].allclose(f1[1], atol: 1e-6));
        Assert.True(fused[2].allclose(f2[2], atol: 1e-6));
        Assert.True(fused[3].allclose(h[3] * 3, atol: 1e-6));
        // The gate is a real mixture, not one of its ends.
        Assert.False(gated[0].allclose(f1[0], atol: 1e-4));
        Assert.False(gated[0].allclose(f2[0], atol: 1e-4));
    }

    [Fact]
    public void A_sample_without_any_stream_needs_the_self_attention_fallback()
    {
        using var _ = torch.NewDisposeScope();
        using var module = Build();
        var h = torch.randn(B, T, H);
        Assert.Throws<ArgumentException>(() => module.call(h, AuxiliaryModalities.None, null));
        var text = new ModalitySequence(torch.randn(B, Tt, Dt));
        Assert.Equal(new long[] { B, T, H }, module.call(h, new AuxiliaryModalities(text, null), null).shape);
    }

    [Fact]
    public void Masked_memory_frames_do_not_change_the_attention()
    {
        using var _ = torch.NewDisposeScope();
        using var module = Build();
        var h = torch.randn(B, T, H);
        var features = torch.randn(B, Tt, Dt);
        var mask = torch.tensor(new[] { true, true, false, true, false, false, true, true, true, true, true, false }, B, Tt);
        var a = module.TextAttention.call(h, new ModalitySequence(features, mask));
        var garbage = torch.where(mask.unsqueeze(-1), features, torch.randn(B, Tt, Dt) * 100);
        var b = module.TextAttention.call(h, new ModalitySequence(garbage, mask));
        Assert.True(a.allclose(b, atol: 1e-5));
    }

    [Fact]
    public void Query_and_output_projections_start_from_the_pretrained_attention()
    {
        using var _ = torch.NewDisposeScope();
        using var module = Build();
        using var pretrained = new MultiHeadAttention(H, H, H, 2);
        module.InitialiseFrom(pretrained);
        var sd = module.state_dict();
        var p = pretrained.state_dict();
        foreach (var branch in new[] { "text_attention", "visual_attention" })
        {
            Assert.True(sd[$"{branch}.q_proj.weight"].eq(p["q_proj.weight"]).all().item<bool>());
            Assert.True(sd[$"{branch}.q_proj.bias"].eq(p["q_proj.bias"]).all().item<bool>());
            Assert.True(sd[$"{branch}.out_proj.weight"].eq(p["out_proj.weight"]).all().item<bool>());
            Assert.True(sd[$"{branch}.out_proj.bias"].eq(p["out_proj.bias"]).all().item<bool>());
        }
        Assert.Equal(new long[] { H, Dt }, sd["text_attention.k_proj.weight"].shape);
        Assert.Equal(new long[] { H, Dv }, sd["visual_attention.v_proj.weight"].shape);
        using var wrong = new MultiHeadAttention(H + 2, H, H + 2, 2);
        Assert.Throws<ArgumentException>(() => module.InitialiseFrom(wrong));
        using var unnamed = nn.Linear(H, H);
        Assert.Throws<ArgumentException>(() => module.InitialiseFrom(unnamed));
    }
}
