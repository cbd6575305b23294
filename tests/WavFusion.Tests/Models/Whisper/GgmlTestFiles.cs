using System.Text;
using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Decoding;
using WavFusion.Speech.Streaming;

namespace WavFusion.Tests.Whisper;

/// <summary>Writes small whisper.cpp-layout files for tests: hparams, a mel bank, a vocabulary and raw tensors.</summary>
internal sealed class GgmlTestFileBuilder
{
    private readonly List<(string Name, int Type, long[] Ne, byte[] Data)> _tensors = [];

    public int[] Hparams { get; } = [51865, 12, 16, 2, 1, 10, 16, 2, 1, 8, 1];
    public uint Magic { get; set; } = WhisperGgmlFile.Magic;
    public int VocabCount { get; set; } = 3;

    /// <param name="ne">Dimensions fastest first, as ggml stores them.</param>
    public GgmlTestFileBuilder Tensor(string name, int type, long[] ne, byte[] data)
    {
        _tensors.Add((name, type, ne, data));
        return this;
    }

    public byte[] Build()
    {
        using var buffer = new MemoryStream();
        using var w = new BinaryWriter(buffer);
        w.Write(Magic);
        foreach (var h in Hparams) w.Write(h);
        int mels = Hparams[9];
        w.Write(mels);
        w.Write(WhisperAudio.NFft / 2 + 1);
        for (int i = 0; i < mels * (WhisperAudio.NFft / 2 + 1); i++) w.Write(i * 1e-4f);
        w.Write(VocabCount);
        for (int i = 0; i < VocabCount; i++)
        {
            var token = Encoding.UTF8.GetBytes($"t{i}");
            w.Write(token.Length);
            w.Write(token);
        }
        foreach (var (name, type, ne, data) in _tensors)
        {
            var nameBytes = Encoding.UTF8.GetBytes(name);
            w.Write(ne.Length);
            w.Write(nameBytes.Length);
            w.Write(type);
            foreach (var n in ne) w.Write((int)n);
            w.Write(nameBytes);
            w.Write(data);
        }
        w.Flush();
        return buffer.ToArray();
    }

    public static byte[] F32(params float[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();

    public static byte[] F16(params float[] values) => values.SelectMany(v => BitConverter.GetBytes((Half)v)).ToArray();
}
