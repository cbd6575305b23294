using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace WavFusion.Models.Whisper;

/// <summary>
/// Writes a Whisper as a whisper.cpp ggml file (the layout <see cref="WhisperGgmlFile"/> reads and
/// <c>convert-pt-to-ggml.py</c> + <c>whisper-quantize</c> write): so that whisper.cpp (Whisper.net) and our port can
/// run the very same weights side by side (<c>wavfusion bench asr</c>), and so that tests can make Q8_0 files of a
/// reference model. Tensor types follow the converter and the quantiser: 2-D weights in the file's type, convolution
/// kernels F16 (F32 in an F32 file), and 1-D tensors, convolution biases (stored as [n, 1]) and both positional
/// embeddings F32 — whisper.cpp checks every tensor's size against these types.
/// </summary>
public static class WhisperGgmlWriter
{
    private const int QK = 32;

    /// <summary>The ggml <c>ftype</c> stored in the header for <paramref name="weights"/> (quantised files add 1000 × version 2).</summary>
    public static int FType(GgmlType weights) => weights switch
    {
        GgmlType.F32 => 0,
        GgmlType.F16 => 1,
        GgmlType.Q8_0 => 2000 + 7,
        _ => throw new ArgumentException($"the writer stores F32, F16 or Q8_0 weights, not {weights}", nameof(weights)),
    };

    /// <summary>
    /// Writes <paramref name="stateDict"/> (Hugging Face keys, as the model's state dict has them; <c>proj_out</c> is tied and
    /// skipped) with 2-D weights as <paramref name="weights"/>. <paramref name="vocabulary"/> holds the byte strings of the
    /// ordinary tokens (50256 English-only, 50257 multilingual); the mel bank is the Slaney bank the model's front end uses.
    /// </summary>
    public static void Write(string path, WhisperConfig config, IReadOnlyDictionary<string, Tensor> stateDict, GgmlType weights,
        IReadOnlyList<byte[]> vocabulary)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(stateDict);
        ArgumentNullException.ThrowIfNull(vocabulary);
        int ftype = FType(weights);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using var w = new BinaryWriter(stream);
        w.Write(WhisperGgmlFile.Magic);
        foreach (int h in new[] { config.VocabSize, config.MaxSourcePositions, config.DModel, config.EncoderAttentionHeads, config.EncoderLayers,
                     config.MaxTargetPositions, config.DModel, config.DecoderAttentionHeads, config.DecoderLayers, config.NumMelBins, ftype })
            w.Write(h);
        int bins = WhisperAudio.NFft / 2 + 1;
        w.Write(config.NumMelBins);
        w.Write(bins);
        foreach (float f in MelFilterBank.Create(WhisperAudio.SampleRate, WhisperAudio.NFft, config.NumMelBins)) w.Write(f);
        w.Write(vocabulary.Count);
        foreach (var token in vocabulary)
        {
            w.Write(token.Length);
            w.Write(token);
        }
        foreach (var (key, value) in stateDict.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (key == "proj_out.weight") continue;
            string name = GgmlTensorNames.FromHuggingFace(key) ?? throw new ArgumentException($"{key}: not a Whisper tensor");
            WriteTensor(w, name, value, TypeOf(name, value, weights));
        }
    }

    /// <summary>The type whisper.cpp expects the tensor in, in a file whose 2-D weights are <paramref name="weights"/>.</summary>
    private static GgmlType TypeOf(string name, Tensor value, GgmlType weights)
    {
        if (value.dim() == 1 || name.EndsWith("positional_embedding", StringComparison.Ordinal)) return GgmlType.F32;
        if (value.dim() == 3) return weights == GgmlType.F32 ? GgmlType.F32 : GgmlType.F16;
        return weights;
    }

    private static void WriteTensor(BinaryWriter w, string name, Tensor value, GgmlType type)
    {
        using var scope = torch.NewDisposeScope();
        var shape = value.shape;
        // Convolution biases are stored as (n, 1), which ggml lists as [1, n].
        if (name.EndsWith("bias", StringComparison.Ordinal) && name.Contains(".conv", StringComparison.Ordinal)) shape = [shape[0], 1];
        var nameBytes = Encoding.UTF8.GetBytes(name);
        w.Write(shape.Length);
        w.Write(nameBytes.Length);
        w.Write((int)type);
        foreach (long n in shape.Reverse()) w.Write(checked((int)n));
        w.Write(nameBytes);
        var floats = value.detach().to(ScalarType.Float32, torch.CPU).contiguous();
        var values = MemoryMarshal.Cast<byte, float>(floats.bytes);
        switch (type)
        {
            case GgmlType.F32:
                w.Write(floats.bytes);
                break;
            case GgmlType.F16:
                var halves = new byte[values.Length * 2];
                for (int i = 0; i < values.Length; i++) BitConverter.TryWriteBytes(halves.AsSpan(2 * i), (Half)values[i]);
                w.Write(halves);
                break;
            case GgmlType.Q8_0:
                w.Write(QuantizeQ8_0(values, name));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, null);
        }
    }

    /// <summary>
    /// ggml's reference Q8_0 quantisation (<c>quantize_row_q8_0_ref</c>): per 32 values d = max|x| / 127 stored as f16,
    /// q = round(x / d) with halves away from zero, as C's roundf.
    /// </summary>
    public static byte[] QuantizeQ8_0(ReadOnlySpan<float> values, string what)
    {
        if (values.Length % QK != 0) throw new ArgumentException($"{what}: {values.Length} values are not whole blocks of {QK}");
        var result = new byte[values.Length / QK * (2 + QK)];
        for (int b = 0, o = 0; b < values.Length; b += QK, o += 2 + QK)
        {
            var block = values.Slice(b, QK);
            float amax = 0;
            foreach (float v in block) amax = Math.Max(amax, Math.Abs(v));
            float d = amax / 127f;
            float id = d != 0 ? 1f / d : 0f;
            BitConverter.TryWriteBytes(result.AsSpan(o), (Half)d);
            for (int j = 0; j < QK; j++) result[o + 2 + j] = (byte)(sbyte)MathF.Round(block[j] * id, MidpointRounding.AwayFromZero);
        }
        return result;
    }
}
