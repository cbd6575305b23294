using TorchSharp;
using WavFusion.Models.Vision;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace WavFusion.Tests.Parity;

/// <summary>
/// torchvision (or timm-named) EfficientNet-B0 in eval mode: ImageNet normalisation of <c>image</c> against
/// <c>pixel_values</c>, then the last feature map, the pooled embedding and the logits from <c>pixel_values</c>.
/// Sizes (batch, image size, classes) come from the fixture's tensors and config.json.
/// </summary>
public sealed class EfficientNetFixtureChecker : IReferenceFixtureChecker
{
    public string Kind => "efficientnet_b0";

    public void Check(ReferenceFixture fixture, ITestOutputHelper log)
    {
        var config = EfficientNetConfig.Load(fixture.File("config.json"));
        using var model = EfficientNetB0.FromCheckpoint(fixture.Folder);
        var io = Close.ReadIo(fixture);
        try
        {
            using var scope = torch.NewDisposeScope();
            foreach (var name in new[] { "pixel_values", "features", "pooled", "logits" })
                Assert.True(io.ContainsKey(name), $"{fixture.Name}: io.safetensors has no '{name}'");
            var pixels = io["pixel_values"].to(ScalarType.Float32);
            log.WriteLine($"  {fixture.Name}: source {config.Source ?? "(detected)"}, pixels [{string.Join(", ", pixels.shape)}], {model.NumClasses} classes");
            if (config.NumClasses is { } classes) Assert.Equal(classes, model.NumClasses);
            if (config.ImageSize is { } size) Assert.Equal([size, size], pixels.shape[2..]);

            if (io.TryGetValue("image", out var image))
                Close.Assert(io["pixel_values"], ImageNetPreprocessing.Normalize(image.to(ScalarType.Float32)), 1e-5, "pixel_values", log);

            using var noGrad = torch.no_grad();
            var features = model.Features(pixels);
            // Features are unbounded activations; the tolerance follows their scale, never below 1e-4.
            var reference = io["features"];
            double scale = Math.Max(1.0, reference.abs().max().ToDouble());
            Close.Assert(reference, features, 1e-4 * scale, "features", log);
            Close.Assert(io["pooled"], model.Pooled(pixels), 1e-4, "pooled", log);
            Close.Assert(io["pooled"], model.PooledInference(pixels), 1e-4, "pooled (inference mode)", log);
            Close.Assert(io["logits"], model.forward(pixels), 1e-3, "logits", log);
        }
        finally
        {
            foreach (var t in io.Values) t.Dispose();
        }
    }
}
