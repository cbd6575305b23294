using TorchSharp;
using WavFusion.Models.Wav2Vec2;
using static TorchSharp.torch;

namespace WavFusion.Tests.Wav2Vec2;

public sealed class FeatureEncoderChunkingTests
{
    [Theory]
    [InlineData(false, 5, 1)]
    [InlineData(false, 7, 3)]
    [InlineData(true, 6, 4)]
    [InlineData(true, 3, 5)]
    public void Row_chunks_give_the_single_pass_output(bool stable, int rows, int rowsPerChunk)
    {
        var config = Wav2Vec2TestModels.Tiny(stable);
        using var model = Wav2Vec2TestModels.Random(config, seed: 17 + rows);
        var encoder = model.feature_extractor;
        using var audio = Wav2Vec2TestModels.RandomAudio(rows, 400, seed: rows);
        long frames = (400 - config.ConvKernel[0]) / config.ConvStride[0] + 1;
        long rowBytes = config.ConvDim[0] * frames * sizeof(float);

        using var _ = torch.no_grad();
        encoder.CpuChunkBytes = long.MaxValue;
        Assert.Equal(rows, encoder.RowsPerPass(audio));
        using var whole = encoder.forward(audio);

        encoder.CpuChunkBytes = rowBytes * rowsPerChunk;
        Assert.Equal(Math.Min(rowsPerChunk, rows), encoder.RowsPerPass(audio));
        using var chunked = encoder.forward(audio);

        Assert.Equal(whole.shape, chunked.shape);
        double diff = (whole - chunked).abs().max().item<float>();
        double scale = whole.abs().max().item<float>();
        Assert.True(diff <= 1e-5 * Math.Max(1, scale), $"max |diff| {diff} (scale {scale})");
    }

    [Fact]
    public void A_chunk_budget_below_one_row_still_runs_one_row_at_a_time()
    {
        var config = Wav2Vec2TestModels.Tiny(stable: false);
        using var model = Wav2Vec2TestModels.Random(config, seed: 3);
        using var audio = Wav2Vec2TestModels.RandomAudio(4, 300, seed: 4);
        model.feature_extractor.CpuChunkBytes = 1;
        Assert.Equal(1, model.feature_extractor.RowsPerPass(audio));
        using var _ = torch.no_grad();
        using var output = model.feature_extractor.forward(audio);
        Assert.Equal(4, output.shape[0]);
    }

    [Fact]
    public void Gradients_flow_through_the_feature_encoder_with_gelu_allocating()
    {
        // With autograd on, GELU must not overwrite the tensor its backward needs.
        var config = Wav2Vec2TestModels.Tiny(stable: true);
        using var model = Wav2Vec2TestModels.Random(config, seed: 5);
        using var audio = Wav2Vec2TestModels.RandomAudio(2, 300, seed: 6);
        using var withGrad = model.feature_extractor.forward(audio);
        withGrad.sum().backward();
        var grad = model.feature_extractor.named_parameters().First().parameter.grad;
        Assert.NotNull(grad);
        Assert.True(grad!.abs().sum().item<float>() > 0);
        using (torch.no_grad())
        {
            using var inference = model.feature_extractor.forward(audio);
            Assert.True((inference - withGrad.detach()).abs().max().item<float>() < 1e-5);
        }
    }
}
