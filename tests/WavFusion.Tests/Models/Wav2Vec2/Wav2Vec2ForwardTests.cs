using TorchSharp;
using WavFusion.Models.Wav2Vec2;
using static TorchSharp.torch;

namespace WavFusion.Tests.Wav2Vec2;

public sealed class Wav2Vec2ForwardTests
{
    private static double MaxDiff(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    [Theory]
    [InlineData(16000, 49)]
    [InlineData(64000, 199)]
    [InlineData(400, 1)]
    [InlineData(399, 0)]
    [InlineData(719, 1)]
    [InlineData(720, 2)]
    [InlineData(1039, 2)]
    [InlineData(1040, 3)]
    [InlineData(0, 0)]
    public void Frame_count_follows_the_conv_length_formula(long samples, int frames)
    {
        Assert.Equal(frames, Wav2Vec2Config.Base().FrameCount(samples));
    }

    [Fact]
    public void Frame_mask_reduces_each_rows_valid_samples()
    {
        using var scope = torch.NewDisposeScope();
        using var model = new Wav2Vec2Model(Wav2Vec2Config.Base(), torch.META);
        // Rows with 1040, 720, 400 and 399 valid samples of 1040 → 3, 2, 1, 0 valid frames of 3.
        var mask = torch.zeros([4, 1040], ScalarType.Int64);
        foreach (var (row, valid) in new[] { (0, 1040), (1, 720), (2, 400), (3, 399) }) mask[row, ..valid] = 1;
        var frames = model.FrameMask(mask.to(torch.CPU))!;
        Assert.Equal(new long[] { 4, 3 }, frames.shape);
        Assert.Equal(ScalarType.Bool, frames.dtype);
        Assert.Equal(new[] { true, true, true, true, true, false, true, false, false, false, false, false }, frames.data<bool>().ToArray());
        Assert.Null(model.FrameMask(null));
    }

    [Fact]
    public void Padded_batch_with_mask_gives_the_unpadded_outputs_on_valid_frames()
    {
        using var scope = torch.NewDisposeScope();
        var config = Wav2Vec2TestModels.Tiny(stable: true);
        using var model = Wav2Vec2TestModels.Random(config, seed: 11);
        var lengths = new[] { 300, 183 };
        var utterances = lengths.Select((n, i) => Wav2Vec2TestModels.RandomAudio(1, n, seed: 20 + i)[0].data<float>().ToArray()).ToList();
        using var batch = new Wav2Vec2FeatureExtractor().NormalizeBatch(utterances);
        using var _ = torch.inference_mode();
        using var padded = model.forward(batch.InputValues, batch.SampleMask);
        for (int b = 0; b < lengths.Length; b++)
        {
            using var alone = model.forward(batch.InputValues[b..(b + 1), ..lengths[b]]);
            int frames = config.FrameCount(lengths[b]);
            Assert.Equal(frames, padded.FrameMask![b].sum().item<long>());
            Assert.True(MaxDiff(alone.LastHiddenState[0], padded.LastHiddenState[b, ..frames]) < 1e-5, $"row {b}: last_hidden_state differs");
            for (int i = 0; i < config.NumHiddenLayers; i++)
                Assert.True(MaxDiff(alone.LayerOutputs[i][0], padded.LayerOutputs[i][b, ..frames]) < 1e-5, $"row {b}: layer {i} differs");
        }
        // Without the mask the padding leaks into the shorter row: the mask is what makes them equal.
        using var unmasked = model.forward(batch.InputValues);
        using var shortAlone = model.forward(batch.InputValues[1..2, ..lengths[1]]);
        int shortFrames = config.FrameCount(lengths[1]);
        Assert.True(MaxDiff(shortAlone.LastHiddenState[0], unmasked.LastHiddenState[1, ..shortFrames]) > 1e-3);
    }

    [Fact]
    public void Attention_equals_softmax_of_scaled_scores_with_masked_keys_excluded()
    {
        using var scope = torch.NewDisposeScope();
        var config = Wav2Vec2TestModels.Tiny(stable: false);
        using var model = Wav2Vec2TestModels.Random(config, seed: 12);
        var attention = model.encoder.layers[0].attention;
        var x = torch.randn(2, 5, config.HiddenSize);
        var keyMask = torch.tensor(new[] { true, true, true, true, true, true, true, true, false, false }, [2, 5]);

        long b = 2, t = 5, heads = attention.NumHeads, d = attention.HeadDim;
        Tensor Heads(Tensor y) => y.view(b, t, heads, d).transpose(1, 2);
        var q = Heads(attention.q_proj.forward(x));
        var k = Heads(attention.k_proj.forward(x));
        var v = Heads(attention.v_proj.forward(x));
        var additive = torch.zeros(b, 1, 1, t).masked_fill(keyMask.logical_not().view(b, 1, 1, t), float.MinValue);
        var weights = (q.matmul(k.transpose(-1, -2)) / Math.Sqrt(d) + additive).softmax(-1);
        var expected = attention.out_proj.forward(weights.matmul(v).transpose(1, 2).reshape(b, t, config.HiddenSize));

        Assert.True(MaxDiff(expected, attention.forward(x, keyMask)) < 1e-5);
        Assert.True(MaxDiff(expected[0], attention.forward(x, null)[0]) < 1e-5, "row 0 has no padding");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ForwardWith_puts_the_given_attention_inside_the_layers_norm_and_residual_structure(bool stable)
    {
        using var scope = torch.NewDisposeScope();
        var config = Wav2Vec2TestModels.Tiny(stable);
        using var model = Wav2Vec2TestModels.Random(config, seed: 13);
        var layer = model.encoder.layers[1];
        var h = torch.randn(2, 4, config.HiddenSize);
        Tensor seen = torch.empty(0);
        var constant = torch.randn(2, 4, config.HiddenSize);
        var result = layer.ForwardWith(h, x => { seen = x.clone().MoveToOuterDisposeScope(); return constant; });

        Tensor expected;
        if (stable)
        {
            Assert.True(MaxDiff(layer.layer_norm.forward(h), seen) < 1e-6, "pre-LN: attention sees LN(h)");
            var a = h + constant;
            expected = a + layer.feed_forward.forward(layer.final_layer_norm.forward(a));
        }
        else
        {
            Assert.True(MaxDiff(h, seen) < 1e-6, "post-LN: attention sees h");
            var a = layer.layer_norm.forward(h + constant);
            expected = layer.final_layer_norm.forward(a + layer.feed_forward.forward(a));
        }
        Assert.Equal(stable, layer.StableLayerNorm);
        Assert.True(MaxDiff(expected, result) < 1e-5);
        Assert.True(MaxDiff(layer.forward(h, null), layer.ForwardWith(h, x => layer.attention.forward(x, null))) < 1e-6);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void EncodeShallow_is_the_forward_cut_after_the_given_layer(bool stable)
    {
        using var scope = torch.NewDisposeScope();
        var config = Wav2Vec2TestModels.Tiny(stable);
        using var model = Wav2Vec2TestModels.Random(config, seed: 14);
        var audio = Wav2Vec2TestModels.RandomAudio(2, 250, seed: 15);
        var sampleMask = torch.ones([2, 250], ScalarType.Bool);
        sampleMask[1, 170..] = false;
        using var full = model.forward(audio, sampleMask);
        var frameMask = model.FrameMask(sampleMask);
        for (int n = 1; n <= config.NumHiddenLayers; n++)
            Assert.True(MaxDiff(full.LayerOutputs[n - 1], model.EncodeShallow(audio, frameMask, n)) < 1e-5, $"{n} layers");
        var last = model.encoder.FinalNorm(model.EncodeShallow(audio, frameMask, config.NumHiddenLayers));
        Assert.True(MaxDiff(full.LastHiddenState, last) < 1e-5);
        Assert.Equal(new long[] { 2, config.FrameCount(250), config.HiddenSize }, model.EncodeShallow(audio, null, 0).shape);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.EncodeShallow(audio, null, config.NumHiddenLayers + 1));
    }

    [Fact]
    public void Forward_leaves_no_live_tensors_behind_once_its_output_is_disposed()
    {
        var config = Wav2Vec2TestModels.Tiny(stable: true);
        using var model = Wav2Vec2TestModels.Random(config, seed: 19);
        using var audio = Wav2Vec2TestModels.RandomAudio(2, 250, seed: 20);
        using var sampleMask = torch.ones([2, 250], ScalarType.Bool);
        using (var warm = model.forward(audio, sampleMask)) { }
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 3; i++)
        {
            using var output = model.forward(audio, sampleMask);
            using var shallow = model.EncodeShallow(audio, output.FrameMask, 1);
        }
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void Odd_positional_kernel_keeps_the_frame_count()
    {
        using var scope = torch.NewDisposeScope();
        var config = Wav2Vec2TestModels.Tiny(stable: false);
        config.NumConvPosEmbeddings = 5;
        using var model = Wav2Vec2TestModels.Random(config, seed: 16);
        using var output = model.forward(Wav2Vec2TestModels.RandomAudio(1, 200, seed: 17));
        Assert.Equal(new long[] { 1, config.FrameCount(200), config.HiddenSize }, output.LastHiddenState.shape);
    }

    [Fact]
    public void Bad_inputs_are_rejected_with_clear_errors()
    {
        using var scope = torch.NewDisposeScope();
        var config = Wav2Vec2TestModels.Tiny(stable: true);
        using var model = Wav2Vec2TestModels.Random(config, seed: 18);
        var e = Assert.Throws<ArgumentException>(() => model.forward(torch.randn(200)));
        Assert.Contains("(batch, samples)", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => model.forward(torch.randn(1, config.ReceptiveField - 1)));
        Assert.Contains($"at least {config.ReceptiveField}", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => model.forward(torch.ones([1, 200], ScalarType.Int64)));
        Assert.Contains("floating point", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => model.forward(torch.randn(2, 200), torch.ones(2, 199)));
        Assert.Contains("sample mask shape", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => model.EncodeShallow(torch.randn(2, 200), torch.ones([2, 3], ScalarType.Bool), 1));
        Assert.Contains("frame mask", e.Message, StringComparison.Ordinal);
    }
}
