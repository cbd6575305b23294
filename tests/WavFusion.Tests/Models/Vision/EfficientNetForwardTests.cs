using TorchSharp;
using WavFusion.Models.Vision;
using static TorchSharp.torch;

namespace WavFusion.Tests.Vision;

public sealed class EfficientNetForwardTests
{
    [Fact]
    public void Eval_forward_is_deterministic_and_independent_of_the_batch()
    {
        using var model = VisionCheckpointFiles.RandomModel(5, seed: 11);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var x = torch.randn([3, 3, 64, 96], generator: new Generator(1));

        var first = model.forward(x);
        Assert.Equal([3, 5], first.shape);
        Assert.True(first.isfinite().all().item<bool>());
        Assert.True(VisionCheckpointFiles.Identical(first, model.forward(x)), "two eval passes differ");

        var alone = model.forward(x[1..2]);
        double diff = (alone - first[1..2]).abs().max().ToDouble();
        Assert.True(diff < 1e-5, $"sample 1 alone differs from its row in the batch by {diff}");
        Assert.True((first[0] - first[1]).abs().max().ToDouble() > 1e-3, "different images gave the same logits");
    }

    [Fact]
    public void Features_are_stride_32_and_pooled_and_logits_derive_from_them()
    {
        using var model = VisionCheckpointFiles.RandomModel(4, seed: 12);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var x = torch.randn([2, 3, 64, 96], generator: new Generator(2));

        var features = model.Features(x);
        Assert.Equal([2, EfficientNetB0.FeatureChannels, 2, 3], features.shape);
        var pooled = model.Pooled(x);
        Assert.Equal([2, EfficientNetB0.FeatureChannels], pooled.shape);
        Assert.True(pooled.allclose(features.mean([2, 3]), rtol: 0, atol: 1e-6));
        var linear = (TorchSharp.Modules.Linear)model.classifier[1];
        Assert.True(model.forward(x).allclose(torch.nn.functional.linear(pooled, linear.weight, linear.bias), rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void PooledInference_matches_Pooled_and_its_result_can_feed_a_trainable_head()
    {
        using var model = VisionCheckpointFiles.RandomModel(3, seed: 13);
        using var scope = torch.NewDisposeScope();
        var x = torch.randn([2, 3, 32, 32], generator: new Generator(4));

        var pooled = model.PooledInference(x);
        Assert.False(pooled.requires_grad);
        using (torch.no_grad()) Assert.True(VisionCheckpointFiles.Identical(pooled, model.Pooled(x)));

        using var head = torch.nn.Linear(EfficientNetB0.FeatureChannels, 2);
        head.forward(pooled).pow(2).sum().backward();
        Assert.NotNull(head.weight!.grad);

        model.train();
        Assert.Throws<InvalidOperationException>(() => model.PooledInference(x));
    }

    [Fact]
    public void Repeated_face_crop_inference_leaves_no_tensor_alive()
    {
        using var model = VisionCheckpointFiles.RandomModel(3, seed: 14);
        var crop = new byte[64 * 64 * 3];
        new Random(1).NextBytes(crop);
        void Once()
        {
            using var chw = ImageNetPreprocessing.NormalizeCrop(crop, 64, 64, ChannelOrder.Bgr);
            using var pixels = chw.unsqueeze(0);
            using var pooled = model.PooledInference(pixels);
        }
        Once();
        long live = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 5; i++) Once();
        Assert.Equal(live, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Stochastic_depth_drops_whole_samples_in_training_and_is_the_identity_in_eval()
    {
        torch.manual_seed(5);
        var stage = new EfficientNetStage(6, 3, 1, 16, 16, 2);
        using var block = new MBConv(stage, firstInStage: false, stochasticDepthProbability: 0.5);
        Assert.True(block.UsesResidual);
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var x = torch.randn([32, 16, 8, 8]);

        block.eval();
        Assert.True(block.forward(x).allclose(x + block.block.call(x), rtol: 0, atol: 1e-6));

        block.train();
        // In training BatchNorm uses batch statistics, so the branch is recomputed on the same batch.
        var branch = block.block.call(x);
        var y = block.forward(x);
        int dropped = 0, kept = 0;
        for (int i = 0; i < x.shape[0]; i++)
        {
            if (y[i].allclose(x[i], rtol: 0, atol: 1e-6)) dropped++;
            else if (y[i].allclose(x[i] + 2 * branch[i], rtol: 0, atol: 1e-5)) kept++;
            else Assert.Fail($"sample {i} is neither dropped nor kept with the branch scaled by 1 / survival");
        }
        Assert.True(dropped > 0 && kept > 0, $"dropped {dropped}, kept {kept} of 32 at p = 0.5");
    }

    [Fact]
    public void Pixels_of_the_wrong_layout_or_dtype_are_rejected()
    {
        using var model = new EfficientNetB0(2);
        using var scope = torch.NewDisposeScope();
        Assert.Throws<ArgumentException>(() => model.Features(torch.zeros(1, 4, 32, 32)));
        Assert.Throws<ArgumentException>(() => model.Features(torch.zeros(3, 32, 32)));
        Assert.Throws<ArgumentException>(() => model.forward(torch.zeros([1, 3, 32, 32], ScalarType.Byte)));
    }
}
