using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Tests.Infrastructure;
using static TorchSharp.torch;

namespace WavFusion.Tests.Checkpoints;

/// <summary>
/// Reads files written by real torch.save (Data/torch/make_torch_checkpoints.py, python3-torch 1.13):
/// values follow the formulas of that script.
/// </summary>
public sealed class TorchPickleReaderTests
{
    private static string File(string name) => Path.Combine(RepoPaths.TestData, "torch", name);

    [Theory]
    [InlineData("state_dict_p2.bin")]
    [InlineData("state_dict_p4.bin")]
    public void Reads_a_real_torch_state_dict(string name)
    {
        var sd = TorchPickleReader.Read(File(name));
        Assert.Equal(
            new[] { "emb.weight", "extra.bf16", "extra.bool", "extra.empty", "extra.half", "extra.int32", "extra.int64",
                    "extra.scalar", "extra.slice", "extra.transposed", "head.weight", "norm.bias", "norm.num_batches_tracked",
                    "norm.running_mean", "norm.running_var", "norm.weight", "proj.bias", "proj.weight" },
            sd.Keys.Order(StringComparer.Ordinal));

        Assert.True(sd["proj.weight"].allclose(torch.arange(12, dtype: ScalarType.Float32).reshape(3, 4) / 7));
        Assert.True(sd["proj.bias"].allclose(torch.tensor(new[] { -1.0f, 0.5f, 2.0f })));
        var emb = torch.arange(20, dtype: ScalarType.Float32).reshape(5, 4) * 0.25 - 1;
        Assert.True(sd["emb.weight"].Same(emb));
        Assert.True(sd["head.weight"].Same(emb), "tied weight shares the storage of emb.weight");
        Assert.True(sd["norm.running_mean"].allclose(torch.tensor(new[] { 0.1f, 0.2f, 0.3f })));
        Assert.Equal(ScalarType.Int64, sd["norm.num_batches_tracked"].dtype);

        var grid = torch.arange(24, dtype: ScalarType.Float32).reshape(4, 6);
        Assert.True(sd["extra.transposed"].Same(grid.t()));
        Assert.True(sd["extra.slice"].Same(grid[1..3, 2..5]));
        Assert.Equal(ScalarType.Float16, sd["extra.half"].dtype);
        Assert.True(sd["extra.half"].to(ScalarType.Float32).allclose(torch.arange(6, dtype: ScalarType.Float32) / 3, rtol: 1e-3));
        Assert.Equal(ScalarType.BFloat16, sd["extra.bf16"].dtype);
        Assert.True(sd["extra.bf16"].to(ScalarType.Float32).allclose(torch.arange(6, dtype: ScalarType.Float32) / 3, rtol: 1e-2));
        Assert.True(sd["extra.int64"].Same(torch.arange(5, dtype: ScalarType.Int64) * 1_000_000_007L));
        Assert.Equal(new[] { -3, 0, 7 }, sd["extra.int32"].data<int>().ToArray());
        Assert.Equal(new[] { true, false, true }, sd["extra.bool"].data<bool>().ToArray());
        Assert.Empty(sd["extra.scalar"].shape);
        Assert.Equal(3.5f, sd["extra.scalar"].item<float>());
        Assert.Equal(new long[] { 0, 3 }, sd["extra.empty"].shape);
    }

    [Fact]
    public void A_pickle_that_calls_code_is_refused_and_nothing_runs()
    {
        string marker = "/tmp/wavfusion-pwned";
        if (System.IO.File.Exists(marker)) System.IO.File.Delete(marker);
        var e = Assert.Throws<CheckpointException>(() => TorchPickleReader.Read(File("malicious.bin")));
        Assert.Contains("refused global", e.Message);
        Assert.Contains("system", e.Message);
        Assert.False(System.IO.File.Exists(marker));
    }

    [Fact]
    public void Non_tensor_entries_are_named()
    {
        var e = Assert.Throws<CheckpointException>(() => TorchPickleReader.Read(File("not_a_state_dict.bin")));
        Assert.Contains("'nested'", e.Message);
    }

    [Fact]
    public void Truncated_or_foreign_files_give_a_checkpoint_error()
    {
        using var dir = new TempDir();
        var bytes = System.IO.File.ReadAllBytes(File("state_dict_p2.bin"));
        System.IO.File.WriteAllBytes(dir.File("cut.bin"), bytes[..(bytes.Length / 2)]);
        var cut = Assert.Throws<CheckpointException>(() => TorchPickleReader.Read(dir.File("cut.bin")));
        Assert.Contains("cut.bin", cut.Message);

        System.IO.File.WriteAllText(dir.File("text.bin"), "not a checkpoint");
        var text = Assert.Throws<CheckpointException>(() => TorchPickleReader.Read(dir.File("text.bin")));
        Assert.Contains("not a PyTorch zip checkpoint", text.Message);
    }

    [Fact]
    public void Checkpoint_reader_opens_pytorch_model_bin_in_a_folder()
    {
        using var dir = new TempDir();
        System.IO.File.Copy(File("state_dict_p2.bin"), dir.File("pytorch_model.bin"));
        var sd = CheckpointReader.ReadStateDict(dir.Path);
        Assert.Contains("proj.weight", sd.Keys);
    }
}
