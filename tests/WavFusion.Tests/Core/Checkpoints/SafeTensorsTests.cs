using System.Text;
using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Tests.Infrastructure;
using static TorchSharp.torch;

namespace WavFusion.Tests.Checkpoints;

public sealed class SafeTensorsTests
{
    private static Dictionary<string, Tensor> Sample() => new()
    {
        ["f32"] = torch.arange(6, dtype: ScalarType.Float32).reshape(2, 3) / 7,
        ["f16"] = (torch.arange(4, dtype: ScalarType.Float32) / 3).to(ScalarType.Float16),
        ["bf16"] = (torch.arange(4, dtype: ScalarType.Float32) / 3).to(ScalarType.BFloat16),
        ["i64"] = torch.tensor(new long[] { -5, 0, 1_000_000_000_007 }),
        ["i32"] = torch.tensor(new[] { 7, -7 }),
        ["flag"] = torch.tensor(new[] { true, false, true }),
        ["scalar"] = torch.tensor(2.5f),
        ["empty"] = torch.zeros(0, 4),
        ["transposed"] = torch.arange(6, dtype: ScalarType.Float32).reshape(2, 3).t(),
    };

    [Fact]
    public void Round_trip_preserves_every_dtype_shape_and_value()
    {
        using var dir = new TempDir();
        var tensors = Sample();
        SafeTensorsWriter.Write(dir.File("m.safetensors"), tensors, new Dictionary<string, string> { ["note"] = "hi" });
        using var f = SafeTensorsFile.Open(dir.File("m.safetensors"));
        Assert.Equal("hi", f.Metadata["note"]);
        Assert.Equal(tensors.Keys.Order(), f.Entries.Keys.Order());
        foreach (var (name, expected) in tensors)
        {
            using var actual = f.Read(name);
            Assert.Equal(expected.dtype, actual.dtype);
            Assert.Equal(expected.shape, actual.shape);
            Assert.True(expected.Same(actual), name);
        }
    }

    [Fact]
    public void Header_is_padded_so_tensors_start_aligned()
    {
        using var dir = new TempDir();
        SafeTensorsWriter.Write(dir.File("m.safetensors"), Sample());
        var bytes = File.ReadAllBytes(dir.File("m.safetensors"));
        ulong n = BitConverter.ToUInt64(bytes, 0);
        Assert.Equal(0UL, n % 8);
        using var f = SafeTensorsFile.Open(dir.File("m.safetensors"));
        foreach (var e in f.Entries.Values)
            Assert.Equal(0, e.Begin % SafeTensorsDType.ElementSize(e.DType)!.Value);
    }

    [Fact]
    public void Truncated_file_names_the_cut_tensor()
    {
        using var dir = new TempDir();
        SafeTensorsWriter.Write(dir.File("m.safetensors"), Sample());
        var bytes = File.ReadAllBytes(dir.File("m.safetensors"));
        File.WriteAllBytes(dir.File("cut.safetensors"), bytes[..^3]);
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(dir.File("cut.safetensors")));
        Assert.Contains("truncated", e.Message);
        Assert.Contains("cut.safetensors", e.Message);
    }

    [Theory]
    [InlineData("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 4]}}", "needs 8 bytes")]
    [InlineData("{\"a\": {\"dtype\": \"Q9\", \"shape\": [1], \"data_offsets\": [0, 4]}}", "unknown dtype 'Q9'")]
    [InlineData("{\"a\": {\"dtype\": \"F32\", \"shape\": [1]}}", "malformed header entry")]
    [InlineData("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", "expected 0")]
    [InlineData("[1, 2]", "does not start with '{'")]
    [InlineData("{\"a\": ", "not a safetensors file (the header is not JSON")]
    public void Malformed_header_is_rejected_with_the_reason(string header, string reason)
    {
        using var dir = new TempDir();
        var json = Encoding.UTF8.GetBytes(header);
        using (var s = File.Create(dir.File("bad.safetensors")))
        {
            s.Write(BitConverter.GetBytes((ulong)json.Length));
            s.Write(json);
            s.Write(new byte[8]);
        }
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(dir.File("bad.safetensors")));
        Assert.Contains(reason, e.Message);
    }

    [Fact]
    public void Absurd_header_length_is_refused_before_allocating()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("huge.safetensors"), BitConverter.GetBytes(ulong.MaxValue / 2));
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(dir.File("huge.safetensors")));
        Assert.Contains($"huge.safetensors: not a safetensors file (header length {ulong.MaxValue / 2} exceeds the file size 8)", e.Message);
    }

    [Fact]
    public void Sharded_index_is_read_across_files()
    {
        using var dir = new TempDir();
        var all = Sample();
        var first = all.Take(4).ToDictionary();
        var second = all.Skip(4).ToDictionary();
        SafeTensorsWriter.Write(dir.File("model-00001-of-00002.safetensors"), first);
        SafeTensorsWriter.Write(dir.File("model-00002-of-00002.safetensors"), second);
        var map = first.Keys.Select(k => $"\"{k}\": \"model-00001-of-00002.safetensors\"")
            .Concat(second.Keys.Select(k => $"\"{k}\": \"model-00002-of-00002.safetensors\""));
        File.WriteAllText(dir.File("model.safetensors.index.json"), $"{{\"metadata\": {{}}, \"weight_map\": {{{string.Join(", ", map)}}}}}");

        var loaded = CheckpointReader.ReadStateDict(dir.Path);
        Assert.Equal(all.Keys.Order(), loaded.Keys.Order());
        Assert.True(all["i64"].Same(loaded["i64"]));

        File.Delete(dir.File("model-00002-of-00002.safetensors"));
        var e = Assert.Throws<CheckpointException>(() => CheckpointReader.ReadStateDict(dir.Path));
        Assert.Contains("model-00002-of-00002.safetensors", e.Message);
    }

    [Fact]
    public void Folder_without_weights_lists_what_was_looked_for()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<CheckpointException>(() => CheckpointReader.ReadStateDict(dir.Path));
        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains("pytorch_model.bin", e.Message);
    }
}
