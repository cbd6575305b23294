using TorchSharp;
using WavFusion.Models.Vision;
using static TorchSharp.torch;

namespace WavFusion.Tests.Vision;

public sealed class ImageNetPreprocessingTests
{
    private const float Black = -0.485f / 0.229f;            // red channel of a 0 pixel
    private const float White = (1 - 0.485f) / 0.229f;       // red channel of a 255 pixel

    [Fact]
    public void Normalize_matches_hand_computed_values_for_batched_and_single_images()
    {
        using var scope = torch.NewDisposeScope();
        var image = torch.tensor(new float[] { 0.485f, 1.0f, 0.0f, 0.456f, 0.5f, 0.181f }).view(1, 3, 1, 2);
        var expected = torch.tensor(new float[] { 0f, 2.2489083f, -2.0357143f, 0f, 0.4177778f, -1.0f }).view(1, 3, 1, 2);
        Assert.True(ImageNetPreprocessing.Normalize(image).allclose(expected, rtol: 0, atol: 1e-6));
        Assert.True(ImageNetPreprocessing.Normalize(image[0]).allclose(expected[0], rtol: 0, atol: 1e-6));
        Assert.Throws<ArgumentException>(() => ImageNetPreprocessing.Normalize(torch.zeros(1, 4, 2, 2)));
        Assert.Throws<ArgumentException>(() => ImageNetPreprocessing.Normalize(torch.zeros([3, 2, 2], ScalarType.Byte)));
    }

    [Fact]
    public void NormalizeCrop_turns_bgr_bytes_into_normalised_rgb()
    {
        using var scope = torch.NewDisposeScope();
        byte[] bgr = [0, 128, 255, 255, 0, 51];   // one row, two pixels, as OpenCV stores them
        var rgb = ImageNetPreprocessing.NormalizeCrop(bgr, 1, 2, ChannelOrder.Bgr);
        Assert.Equal([3, 1, 2], rgb.shape);
        Assert.Equal(ScalarType.Float32, rgb.dtype);
        var expected = torch.tensor(new float[] { 2.2489083f, -1.2445415f, 0.2051821f, -2.0357143f, -1.8044444f, 2.64f }).view(3, 1, 2);
        Assert.True(rgb.allclose(expected, rtol: 0, atol: 1e-5), string.Join(", ", rgb.data<float>().ToArray()));

        // Read as RGB, the first and last channels trade places.
        var asRgb = ImageNetPreprocessing.NormalizeCrop(bgr, 1, 2, ChannelOrder.Rgb);
        Assert.Equal(0.0f, asRgb[0, 0, 0].item<float>() * 0.229f + 0.485f, 5);
        Assert.Equal(1.0f, asRgb[2, 0, 0].item<float>() * 0.225f + 0.406f, 5);
    }

    [Fact]
    public void NormalizeCrop_skips_row_padding_and_rejects_short_buffers()
    {
        using var scope = torch.NewDisposeScope();
        byte[] packed = [10, 20, 30, 40, 50, 60];
        byte[] padded = [10, 20, 30, 99, 99, 40, 50, 60];   // 1 × 2 rows of one pixel, step 5
        var a = ImageNetPreprocessing.NormalizeCrop(packed, 2, 1, ChannelOrder.Bgr);
        var b = ImageNetPreprocessing.NormalizeCrop(padded, 2, 1, ChannelOrder.Bgr, rowStride: 5);
        Assert.True(VisionCheckpointFiles.Identical(a, b));
        Assert.Throws<ArgumentException>(() => ImageNetPreprocessing.NormalizeCrop(packed, 2, 2, ChannelOrder.Bgr));
        Assert.Throws<ArgumentException>(() => ImageNetPreprocessing.NormalizeCrop(packed, 2, 1, ChannelOrder.Bgr, rowStride: 2));
    }

    [Theory]
    [InlineData(480, 640, 256, 341)]
    [InlineData(640, 480, 341, 256)]
    [InlineData(256, 256, 256, 256)]
    [InlineData(100, 333, 256, 852)]   // 852.48 truncated
    public void ResizedSize_keeps_the_aspect_and_truncates_the_longer_side(int h, int w, int eh, int ew) =>
        Assert.Equal((eh, ew), ImageNetPreprocessing.ResizedSize(h, w));

    [Theory]
    [InlineData(256, 16)]
    [InlineData(257, 16)]   // 16.5 rounds to even
    [InlineData(259, 18)]   // 17.5 rounds to even
    [InlineData(341, 58)]   // 58.5 rounds to even
    [InlineData(224, 0)]
    public void CropOffset_rounds_halves_to_even_like_python(int size, int offset) =>
        Assert.Equal(offset, ImageNetPreprocessing.CropOffset(size, 224));

    [Fact]
    public void Classification_crops_the_centre_exactly_when_the_shorter_side_is_already_256()
    {
        using var scope = torch.NewDisposeScope();
        const int h = 256, w = 512;
        var pixels = new byte[h * w * 3];
        for (int y = 0; y < h; y++)
            for (int x = w / 2; x < w; x++)
                pixels.AsSpan((y * w + x) * 3, 3).Fill(255);
        var image = ImageNetPreprocessing.Classification(pixels, h, w, ChannelOrder.Rgb);
        Assert.Equal([3, 224, 224], image.shape);
        // The crop starts at column (512 − 224) / 2 = 144, so the white half begins at crop column 256 − 144 = 112.
        var red = image[0];
        Assert.True(red[.., ..112].eq(Black).all().item<bool>());
        Assert.True(red[.., 112..].eq(White).all().item<bool>());
    }

    [Fact]
    public void Classification_keeps_a_flat_colour_flat_through_resize_and_crop()
    {
        using var scope = torch.NewDisposeScope();
        const int h = 300, w = 400;
        var pixels = new byte[h * w * 3];
        for (int i = 0; i < pixels.Length; i += 3) { pixels[i] = 30; pixels[i + 1] = 120; pixels[i + 2] = 200; }
        var image = ImageNetPreprocessing.Classification(pixels, h, w, ChannelOrder.Bgr);
        Assert.Equal([3, 224, 224], image.shape);
        float[] expected = [(200 / 255f - 0.485f) / 0.229f, (120 / 255f - 0.456f) / 0.224f, (30 / 255f - 0.406f) / 0.225f];
        for (int c = 0; c < 3; c++)
            Assert.True((image[c] - expected[c]).abs().max().item<float>() < 1e-5, $"channel {c} is not flat");
    }

    [Fact]
    public void Classification_downsamples_with_antialiasing()
    {
        using var scope = torch.NewDisposeScope();
        const int size = 600;   // a 1-pixel checkerboard shrunk by 600 / 256: aliasing shows up as stripes
        var pixels = new byte[size * size * 3];
        for (int y = 0; y < size; y++)
            for (int x = 0; x < size; x++)
                if (((x + y) & 1) == 1) pixels.AsSpan((y * size + x) * 3, 3).Fill(255);
        var red = ImageNetPreprocessing.Classification(pixels, size, size, ChannelOrder.Rgb)[0] * 0.229 + 0.485;
        var interior = red[8..^8, 8..^8] * 255;
        double spread = (interior - 127.5).abs().max().ToDouble();
        Assert.True(spread < 4, $"antialiased grey deviates by {spread} levels");

        // Without antialiasing the same shrink is far from flat, so the check above can tell.
        var plain = torch.nn.functional.interpolate(torch.tensor(pixels).view(1, size, size, 3).permute(0, 3, 1, 2).to(ScalarType.Float32),
            [256, 256], mode: InterpolationMode.Bicubic, align_corners: false)[0, 0, 8..^8, 8..^8];
        Assert.True((plain - 127.5).abs().max().ToDouble() > 20);
    }
}
