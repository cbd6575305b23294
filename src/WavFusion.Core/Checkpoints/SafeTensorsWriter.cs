using System.Text;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace WavFusion.Core.Checkpoints;

/// <summary>
/// Writes the safetensors format: tensors ordered by descending element alignment then name (as the
/// reference writer does), header padded with spaces to a multiple of 8 so every tensor starts aligned.
/// Writing goes to a temporary file renamed over the target, so a crash never leaves a half-written file.
/// </summary>
public static class SafeTensorsWriter
{
    public static void Write(string path, IReadOnlyDictionary<string, Tensor> tensors,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var ordered = tensors
            .Select(kv => (Name: kv.Key, Tensor: kv.Value, DType: SafeTensorsDType.FromTorch(kv.Value.dtype)))
            .OrderByDescending(e => SafeTensorsDType.ElementSize(e.DType))
            .ThenBy(e => e.Name, StringComparer.Ordinal)
            .ToList();

        var header = new Dictionary<string, object>(StringComparer.Ordinal);
        if (metadata is { Count: > 0 }) header["__metadata__"] = metadata;
        long offset = 0;
        foreach (var (name, tensor, dtype) in ordered)
        {
            long bytes = tensor.numel() * SafeTensorsDType.ElementSize(dtype)!.Value;
            header[name] = new Dictionary<string, object>
            {
                ["dtype"] = dtype,
                ["shape"] = tensor.shape,
                ["data_offsets"] = new[] { offset, offset + bytes },
            };
            offset += bytes;
        }
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(header);
        int padded = (json.Length + 7) / 8 * 8;

        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        string temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                stream.Write(BitConverter.GetBytes((ulong)padded));
                stream.Write(json);
                for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
                foreach (var (_, tensor, _) in ordered)
                {
                    if (tensor.numel() == 0) continue;
                    using var cpu = tensor.detach().cpu().contiguous();
                    cpu.WriteBytesToStream(stream);
                }
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }
}
