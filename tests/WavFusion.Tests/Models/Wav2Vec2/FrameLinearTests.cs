using TorchSharp;
using WavFusion.Models.Wav2Vec2;
using static TorchSharp.torch;

namespace WavFusion.Tests.Wav2Vec2;

public sealed class FrameLinearTests
{
    [Theory]
    [InlineData(1, 7, 12, 20)]
    [InlineData(3, 50, 64, 16)]
    [InlineData(2, 1, 8, 8)]
    public void Convolution_path_equals_the_linear_layer(int batch, int time, int input, int output)
    {
        var generator = new torch.Generator(1234);
        using var linear = nn.Linear(input, output);
        using (torch.no_grad())
        {
            linear.weight!.copy_(torch.randn(output, input, generator: generator));
            linear.bias!.copy_(torch.randn(output, generator: generator));
        }
        using var x = torch.randn(batch, time, input, generator: generator);
        using var expected = linear.forward(x);
        using var actual = FrameLinear.Apply(linear, x, FrameLinearPath.Convolution);
        Assert.Equal(expected.shape, actual.shape);
        Assert.True(actual.is_contiguous());
        double diff = (actual - expected).abs().max().item<float>();
        Assert.True(diff < 1e-4, $"max |diff| {diff}");
    }

    [Fact]
    public void Gradients_match_the_linear_layer()
    {
        var generator = new torch.Generator(99);
        using var linear = nn.Linear(6, 5);
        using var x = torch.randn(2, 9, 6, generator: generator);
        using var upstream = torch.randn(2, 9, 5, generator: generator);

        (linear.forward(x) * upstream).sum().backward();
        var expectedWeight = linear.weight!.grad!.clone();
        var expectedBias = linear.bias!.grad!.clone();
        linear.zero_grad();
        (FrameLinear.Apply(linear, x, FrameLinearPath.Convolution) * upstream).sum().backward();

        Assert.True((linear.weight!.grad! - expectedWeight).abs().max().item<float>() < 1e-4);
        Assert.True((linear.bias!.grad! - expectedBias).abs().max().item<float>() < 1e-4);
    }

    [Fact]
    public void Inputs_it_cannot_view_as_an_image_take_the_linear_path()
    {
        using var linear = nn.Linear(4, 3);
        using var flat = torch.ones(5, 4);
        using var strided = torch.ones(2, 4, 6).transpose(1, 2);
        Assert.Equal(new long[] { 5, 3 }, FrameLinear.Apply(linear, flat, FrameLinearPath.Convolution).shape);
        using var viaLinear = linear.forward(strided);
        using var viaHelper = FrameLinear.Apply(linear, strided, FrameLinearPath.Convolution);
        Assert.True((viaHelper - viaLinear).abs().max().item<float>() == 0);
    }

    [Fact]
    public void Auto_times_a_new_shape_once_without_autograd_and_keeps_its_choice()
    {
        // A shape no other test uses, so the tuning table entry is this test's own.
        var generator = new torch.Generator(7);
        using var linear = nn.Linear(13, 11);
        using var x = torch.randn(3, 37, 13, generator: generator);
        var key = FrameLinear.ShapeKey(3L * 37, 13L, 11L);
        using var expected = linear.forward(x);

        using (torch.no_grad())
        {
            Assert.False(FrameLinear.TunedShapes.ContainsKey(key));
            using var tuned = FrameLinear.Apply(linear, x, FrameLinearPath.Auto);
            Assert.True(FrameLinear.TunedShapes.ContainsKey(key));
            Assert.True((tuned - expected).abs().max().item<float>() < 1e-4);
            using var again = FrameLinear.Apply(linear, x, FrameLinearPath.Auto);
            Assert.True((again - expected).abs().max().item<float>() < 1e-4);
        }
    }

    [Fact]
    public void Auto_with_autograd_on_takes_the_linear_layer_and_tunes_nothing()
    {
        using var linear = nn.Linear(9, 14);
        using var x = torch.randn(2, 41, 9);
        var key = FrameLinear.ShapeKey(2L * 41, 9L, 14L);
        using var y = FrameLinear.Apply(linear, x, FrameLinearPath.Auto);
        Assert.False(FrameLinear.TunedShapes.ContainsKey(key));
        Assert.True(y.requires_grad);
        y.sum().backward();
        Assert.NotNull(linear.weight!.grad);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(8, 8)]
    [InlineData(9, 10)]
    [InlineData(199, 224)]
    [InlineData(224, 224)]
    [InlineData(225, 256)]
    [InlineData(499, 512)]
    [InlineData(1592, 1792)]
    public void Row_counts_share_a_tuning_entry_within_a_quarter_octave(long rows, long bucket)
    {
        var key = FrameLinear.ShapeKey(rows, 768, 3072);
        Assert.Equal((bucket, 768L, 3072L), key);
        Assert.InRange(key.Rows, rows, Math.Max(rows, (long)Math.Ceiling(rows * 1.25)));
    }

    [Fact]
    public void A_model_carries_its_own_path_to_every_frame_linear_so_two_models_may_differ()
    {
        var config = Wav2Vec2TestModels.Tiny(stable: false);
        using var convolution = new Wav2Vec2Model(config, torch.META, FrameLinearPath.Convolution);
        using var linear = new Wav2Vec2Model(config, torch.META, FrameLinearPath.Linear);
        using var auto = new Wav2Vec2Model(config, torch.META);
        foreach (var (model, path) in new[] { (convolution, FrameLinearPath.Convolution), (linear, FrameLinearPath.Linear), (auto, FrameLinearPath.Auto) })
        {
            Assert.Equal(path, model.FrameLinearPath);
            Assert.Equal(path, model.feature_projection.FrameLinearPath);
            foreach (var layer in model.encoder.layers)
            {
                Assert.Equal(path, layer.attention.FrameLinearPath);
                Assert.Equal(path, layer.feed_forward.FrameLinearPath);
            }
        }
    }

    [Fact]
    public void Models_on_either_path_give_the_same_hidden_states()
    {
        var config = Wav2Vec2TestModels.Tiny(stable: false);
        using var linear = Wav2Vec2TestModels.Random(config, seed: 5, FrameLinearPath.Linear);
        using var convolution = new Wav2Vec2Model(config, frameLinear: FrameLinearPath.Convolution);
        convolution.load_state_dict(linear.state_dict());
        convolution.eval();
        using var audio = torch.randn(2, 400, generator: new torch.Generator(3));
        using (torch.no_grad())
        {
            using var viaLinear = linear.forward(audio);
            using var viaConvolution = convolution.forward(audio);
            Assert.True(viaConvolution.LastHiddenState.allclose(viaLinear.LastHiddenState, atol: 1e-4));
        }
    }
}
