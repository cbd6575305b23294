using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using TorchSharp;
using WavFusion.Core.Audio;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.Whisper;
using static TorchSharp.torch;

namespace WavFusion.Fuzzing;

/// <summary>
/// Small valid files of each format the readers accept, made in memory: written by our own writers where we
/// have one (safetensors, WAV), else laid out by hand as the reference tools lay them out (torch.save's zip,
/// whisper.cpp's ggml). Each holds several entries and dtypes, so that mutations reach every branch of a reader.
/// </summary>
public static class FuzzSeeds
{
    public static byte[] SafeTensors(string scratchFolder)
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal)
        {
            ["proj.weight"] = torch.tensor(new float[] { 0.5f, -1, 2, 3, 4, 5 }, [2, 3]),
            ["proj.bias"] = torch.tensor(new float[] { 1, 2 }).to(ScalarType.Float16),
            ["steps"] = torch.tensor(new long[] { 7, 8, 9 }),
            ["mask"] = torch.tensor(new[] { true, false }),
            ["empty"] = torch.zeros([0, 4]),
        };
        string path = Path.Combine(scratchFolder, "seed.safetensors");
        try
        {
            SafeTensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });
            return File.ReadAllBytes(path);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
            File.Delete(path);
        }
    }

    /// <summary>data.pkl of a torch.save'd state dict (protocol 2, as torch writes it) over two storages, one shared by a view.</summary>
    public static byte[] TorchPickle()
    {
        var p = new PickleWriter();
        p.Op(0x80).Op(2);
        p.Global("collections", "OrderedDict").Op(')').Op('R').Op('q').Op(0).Op('(');
        p.Text("proj.weight");
        p.Tensor(storageKey: "0", storageType: "FloatStorage", numel: 6, offset: 0, size: [2, 3], stride: [3, 1]);
        p.Text("proj.bias");
        p.Tensor(storageKey: "1", storageType: "LongStorage", numel: 3, offset: 0, size: [3], stride: [1]);
        p.Text("proj.tied");
        p.Tensor(storageKey: "0", storageType: "FloatStorage", numel: 6, offset: 1, size: [2], stride: [2]);
        p.Op('u').Op('.');
        return p.ToArray();
    }

    /// <summary>A pytorch_model.bin zip (stored entries under archive/, as torch.save writes them) around <paramref name="pickle"/>.</summary>
    public static byte[] TorchZip(byte[] pickle)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            Add(zip, "archive/data.pkl", pickle);
            Add(zip, "archive/data/0", FloatBytes(0.5f, -1, 2, 3, 4, 5));
            Add(zip, "archive/data/1", new long[] { 7, 8, 9 }.SelectMany(BitConverter.GetBytes).ToArray());
            Add(zip, "archive/version", "3\n"u8.ToArray());
        }
        return buffer.ToArray();

        static void Add(ZipArchive zip, string name, byte[] bytes)
        {
            using var s = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
            s.Write(bytes);
        }
    }

    /// <summary>A whisper.cpp ggml file with a small vocabulary and one tensor of each stored type the reader supports.</summary>
    public static byte[] Ggml()
    {
        using var buffer = new MemoryStream();
        using var w = new BinaryWriter(buffer);
        w.Write(WhisperGgmlFile.Magic);
        const int mels = 8;
        foreach (int h in new[] { 51865, 12, 16, 2, 1, 10, 16, 2, 1, mels, 1 }) w.Write(h);
        w.Write(mels);
        w.Write(WhisperAudio.NFft / 2 + 1);
        for (int i = 0; i < mels * (WhisperAudio.NFft / 2 + 1); i++) w.Write(i * 1e-4f);
        string[] vocabulary = ["!", "hello", " world"];
        w.Write(vocabulary.Length);
        foreach (var token in vocabulary.Select(Encoding.UTF8.GetBytes))
        {
            w.Write(token.Length);
            w.Write(token);
        }
        Tensor(w, "encoder.conv1.bias", GgmlType.F32, [1, 2], FloatBytes(1.5f, -2));
        Tensor(w, "decoder.blocks.0.attn.query.weight", GgmlType.F16, [2, 3],
            new float[] { 1, 2, 3, 4, 5, 6 }.SelectMany(v => BitConverter.GetBytes((Half)v)).ToArray());
        Tensor(w, "decoder.blocks.0.mlp.0.weight", GgmlType.Q8_0, [32, 1], QuantBlock(34, 0.25f));
        Tensor(w, "decoder.blocks.0.mlp.2.weight", GgmlType.Q4_0, [32, 1], QuantBlock(18, 0.5f));
        Tensor(w, "decoder.blocks.0.attn.key.weight", GgmlType.Q5_1, [32, 1], QuantBlock(24, 0.125f));
        w.Flush();
        return buffer.ToArray();

        static void Tensor(BinaryWriter w, string name, GgmlType type, int[] ne, byte[] data)
        {
            var nameBytes = Encoding.UTF8.GetBytes(name);
            w.Write(ne.Length);
            w.Write(nameBytes.Length);
            w.Write((int)type);
            foreach (int n in ne) w.Write(n);
            w.Write(nameBytes);
            w.Write(data);
        }

        static byte[] QuantBlock(int bytes, float scale)
        {
            var block = new byte[bytes];
            BinaryPrimitives.WriteHalfLittleEndian(block, (Half)scale);
            for (int i = 2; i < bytes; i++) block[i] = (byte)(i * 37);
            return block;
        }
    }

    /// <summary>16-bit mono from our writer, and a 24-bit stereo file with an extra chunk laid out by hand.</summary>
    public static byte[][] Wav()
    {
        var samples = Enumerable.Range(0, 400).Select(i => (float)Math.Sin(i * 0.1) * 0.5f).ToArray();
        using var pcm16 = new MemoryStream();
        WavFile.Write(pcm16, new AudioClip(samples, 16000));

        using var stereo = new MemoryStream();
        using var w = new BinaryWriter(stereo);
        const int frames = 100, channels = 2, bytesPerSample = 3;
        const int dataBytes = frames * channels * bytesPerSample;
        byte[] list = "INFOISFT\u0004\0\0\0abc\0"u8.ToArray();
        w.Write("RIFF"u8);
        w.Write(4 + 8 + 16 + 8 + list.Length + 8 + dataBytes);
        w.Write("WAVE"u8);
        w.Write("fmt "u8);
        w.Write(16);
        w.Write((short)1);
        w.Write((short)channels);
        w.Write(16000);
        w.Write(16000 * channels * bytesPerSample);
        w.Write((short)(channels * bytesPerSample));
        w.Write((short)(bytesPerSample * 8));
        w.Write("LIST"u8);
        w.Write(list.Length);
        w.Write(list);
        w.Write("data"u8);
        w.Write(dataBytes);
        for (int i = 0; i < frames * channels; i++)
        {
            int v = (int)(Math.Sin(i * 0.05) * 4_000_000);
            w.Write((byte)v);
            w.Write((byte)(v >> 8));
            w.Write((byte)(v >> 16));
        }
        w.Flush();
        return [pcm16.ToArray(), stereo.ToArray()];
    }

    private static byte[] FloatBytes(params float[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();

    /// <summary>The few pickle opcodes torch.save uses for a state dict.</summary>
    private sealed class PickleWriter
    {
        private readonly MemoryStream _bytes = new();

        public PickleWriter Op(int opcode)
        {
            _bytes.WriteByte((byte)opcode);
            return this;
        }

        public PickleWriter Global(string module, string name)
        {
            Op('c');
            _bytes.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
            return this;
        }

        public PickleWriter Text(string s)
        {
            var utf8 = Encoding.UTF8.GetBytes(s);
            Op('X');
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(length, utf8.Length);
            _bytes.Write(length);
            _bytes.Write(utf8);
            return this;
        }

        private PickleWriter Int(long v)
        {
            if (v is >= 0 and < 256) return Op('K').Op((int)v);
            Op('J');
            Span<byte> bytes = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(bytes, (int)v);
            _bytes.Write(bytes);
            return this;
        }

        private PickleWriter Tuple(long[] values)
        {
            Op('(');
            foreach (var v in values) Int(v);
            return Op('t');
        }

        /// <summary>torch._utils._rebuild_tensor_v2(persistent storage, offset, size, stride, requires_grad, hooks).</summary>
        public PickleWriter Tensor(string storageKey, string storageType, long numel, long offset, long[] size, long[] stride)
        {
            Global("torch._utils", "_rebuild_tensor_v2");
            Op('(');
            Op('(').Text("storage").Global("torch", storageType).Text(storageKey).Text("cpu").Int(numel).Op('t').Op('Q');
            Int(offset).Tuple(size).Tuple(stride).Op(0x89);
            Global("collections", "OrderedDict").Op(')').Op('R');
            return Op('t').Op('R');
        }

        public byte[] ToArray() => _bytes.ToArray();
    }
}
