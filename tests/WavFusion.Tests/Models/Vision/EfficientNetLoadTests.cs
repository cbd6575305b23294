using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.Vision;
using WavFusion.Tests.Infrastructure;
using static TorchSharp.torch;

namespace WavFusion.Tests.Vision;

/// <summary>One randomised 10-class B0, written once under torchvision names and once under timm names.</summary>
public sealed class EfficientNetCheckpointFixture : IDisposable
{
    public const int Classes = 10;
    private readonly TempDir _dir = new();

    public EfficientNetB0 Source { get; } = VisionCheckpointFiles.RandomModel(Classes, seed: 7);
    public string TorchvisionFile => _dir.File("torchvision.safetensors");
    public string TimmFile => _dir.File("timm.safetensors");
    public string Folder(string name) => _dir.File(name);

    public EfficientNetCheckpointFixture()
    {
        VisionCheckpointFiles.WriteSafeTensors(TorchvisionFile, VisionCheckpointFiles.TorchvisionStateDict(Source));
        VisionCheckpointFiles.WriteSafeTensors(TimmFile, VisionCheckpointFiles.TimmStateDict(Source));
    }

    public void Dispose()
    {
        Source.Dispose();
        _dir.Dispose();
    }
}

public sealed class EfficientNetLoadTests(EfficientNetCheckpointFixture ckpt) : IClassFixture<EfficientNetCheckpointFixture>
{
    [Fact]
    public void Timm_named_checkpoint_loads_equal_to_the_torchvision_named_one()
    {
        using var fromTorchvision = EfficientNetB0.FromCheckpoint(ckpt.TorchvisionFile);
        using var fromTimm = EfficientNetB0.FromCheckpoint(ckpt.TimmFile);
        Assert.Equal(EfficientNetCheckpointFixture.Classes, fromTimm.NumClasses);
        Assert.False(fromTimm.training);

        var source = ckpt.Source.state_dict();
        var a = fromTorchvision.state_dict();
        var b = fromTimm.state_dict();
        foreach (var (key, t) in source)
        {
            if (key.EndsWith("num_batches_tracked", StringComparison.Ordinal)) continue;
            Assert.True(VisionCheckpointFiles.Identical(t, a[key]), $"torchvision load differs at {key}");
            Assert.True(VisionCheckpointFiles.Identical(t, b[key]), $"timm load differs at {key}");
        }

        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var x = torch.randn([2, 3, 64, 64], generator: new Generator(3));
        var expected = ckpt.Source.forward(x);
        Assert.True(VisionCheckpointFiles.Identical(expected, fromTorchvision.forward(x)));
        Assert.True(VisionCheckpointFiles.Identical(expected, fromTimm.forward(x)));
    }

    [Fact]
    public void Folder_config_source_selects_the_naming_and_a_disagreeing_source_or_class_count_fails()
    {
        string timmFolder = ckpt.Folder("timm-folder");
        VisionCheckpointFiles.WriteConfig(timmFolder, "timm", EfficientNetCheckpointFixture.Classes);
        File.Copy(ckpt.TimmFile, Path.Combine(timmFolder, "model.safetensors"));
        using (var model = EfficientNetB0.FromCheckpoint(timmFolder)) Assert.Equal(EfficientNetCheckpointFixture.Classes, model.NumClasses);

        var wrongSource = Assert.Throws<CheckpointException>(() => EfficientNetB0.FromCheckpoint(ckpt.TimmFile, EfficientNetKeyNaming.Torchvision));
        Assert.Contains("Timm", wrongSource.Message);

        string mislabelled = ckpt.Folder("mislabelled");
        VisionCheckpointFiles.WriteConfig(mislabelled, "torchvision", 1000);
        File.Copy(ckpt.TorchvisionFile, Path.Combine(mislabelled, "model.safetensors"));
        var wrongClasses = Assert.Throws<CheckpointException>(() => EfficientNetB0.FromCheckpoint(mislabelled));
        Assert.Contains("num_classes 1000", wrongClasses.Message);
    }

    [Fact]
    public void Checkpoint_in_neither_naming_fails_naming_the_unexpected_keys()
    {
        using var scope = torch.NewDisposeScope();
        string path = ckpt.Folder("foreign.safetensors");
        VisionCheckpointFiles.WriteSafeTensors(path, new Dictionary<string, Tensor>
        {
            ["backbone.stem.conv.weight"] = torch.zeros(32, 3, 3, 3),
            ["head.fc.weight"] = torch.zeros(10, 1280),
        });
        var e = Assert.Throws<CheckpointException>(() => EfficientNetB0.FromCheckpoint(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("backbone.stem.conv.weight", e.Message);
        Assert.Contains("head.fc.weight", e.Message);
    }

    [Fact]
    public void Timm_checkpoint_with_keys_outside_b0_fails_naming_them()
    {
        using var scope = torch.NewDisposeScope();
        var state = VisionCheckpointFiles.TimmStateDict(ckpt.Source);
        state["blocks.0.0.conv_pwl.weight"] = torch.zeros(16, 32, 1, 1);
        state["head.extra.weight"] = torch.zeros(3);
        string path = ckpt.Folder("timm-extra.safetensors");
        VisionCheckpointFiles.WriteSafeTensors(path, state);
        var e = Assert.Throws<CheckpointException>(() => EfficientNetB0.FromCheckpoint(path));
        Assert.Contains("blocks.0.0.conv_pwl.weight", e.Message);
        Assert.Contains("head.extra.weight", e.Message);
    }

    [Fact]
    public void Missing_or_misshapen_tensors_fail_naming_the_key()
    {
        var missing = VisionCheckpointFiles.TorchvisionStateDict(ckpt.Source);
        missing.Remove("features.3.1.block.2.fc1.bias");
        string path = ckpt.Folder("missing.safetensors");
        VisionCheckpointFiles.WriteSafeTensors(path, missing);
        Assert.Contains("features.3.1.block.2.fc1.bias", Assert.Throws<CheckpointException>(() => EfficientNetB0.FromCheckpoint(path)).Message);

        using var scope = torch.NewDisposeScope();
        var misshapen = VisionCheckpointFiles.TorchvisionStateDict(ckpt.Source);
        misshapen["features.5.0.block.1.0.weight"] = torch.zeros(480, 1, 3, 3);
        string path2 = ckpt.Folder("misshapen.safetensors");
        VisionCheckpointFiles.WriteSafeTensors(path2, misshapen);
        Assert.Contains("features.5.0.block.1.0.weight", Assert.Throws<CheckpointException>(() => EfficientNetB0.FromCheckpoint(path2)).Message);
    }

    [Fact]
    public void Paths_that_hold_no_safetensors_checkpoint_fail_clearly()
    {
        Assert.Contains("no such folder or file", Assert.Throws<CheckpointException>(() => EfficientNetB0.FromCheckpoint(ckpt.Folder("absent"))).Message);
        string empty = ckpt.Folder("empty");
        Directory.CreateDirectory(empty);
        Assert.Contains("no weights found", Assert.Throws<CheckpointException>(() => EfficientNetB0.FromCheckpoint(empty)).Message);
        string pth = ckpt.Folder("weights.pth");
        File.WriteAllBytes(pth, [1, 2, 3]);
        Assert.Contains("not a PyTorch zip checkpoint", Assert.Throws<CheckpointException>(() => EfficientNetB0.FromCheckpoint(pth)).Message);
    }
}
