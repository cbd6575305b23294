using System.Buffers;
using System.Text;
using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Core.Quantization;
using WavFusion.Models.Layers;
using static TorchSharp.torch;

namespace WavFusion.Models.Whisper;

/// <summary>One tensor of a ggml file: its openai name, stored type and the values as float32 in PyTorch's dimension order.</summary>
public sealed record GgmlTensor(string Name, GgmlType Type, long[] Shape, Tensor Values);

/// <summary>
/// A whisper.cpp model file (<c>convert-pt-to-ggml.py</c> layout): magic, eleven int32 hyper-parameters,
/// the mel filter bank, the byte-string vocabulary, then tensors until the end of the file, each
/// dequantised to float32 as it is read. Every read is bounds-checked, so a damaged file fails with the
/// offset and the tensor or field it was reading.
/// </summary>
public sealed class WhisperGgmlFile : IDisposable
{
    public const uint Magic = 0x67676d6c;
    private const uint GgufMagic = 0x46554747;
    private const int MaxDims = 4;
    private const int MaxNameBytes = 1024;

    public string Path { get; }
    public WhisperGgmlHparams Hparams { get; }
    public int FilterMels { get; }
    public int FilterBins { get; }
    /// <summary>Row-major (FilterMels, FilterBins) mel filter bank stored by the converter.</summary>
    public float[] MelFilters { get; }
    /// <summary>Byte strings of the tiktoken vocabulary; the index is the token id.</summary>
    public IReadOnlyList<byte[]> Vocabulary { get; }
    public IReadOnlyDictionary<string, GgmlTensor> Tensors { get; }
    /// <summary>Tensors kept as stored for packed layers (see <see cref="Read(string, Func{string, GgmlType, bool})"/>), by ggml name.</summary>
    public IReadOnlyDictionary<string, GgmlStoredTensor> StoredTensors { get; }
    /// <summary>Values of every tensor in the file, read or skipped.</summary>
    public long ValueCount { get; }

    private WhisperGgmlFile(string path, WhisperGgmlHparams hparams, int filterMels, int filterBins, float[] filters,
        List<byte[]> vocabulary, Dictionary<string, GgmlTensor> tensors, Dictionary<string, GgmlStoredTensor> stored, long valueCount)
    {
        StoredTensors = stored;
        ValueCount = valueCount;
        Path = path;
        Hparams = hparams;
        FilterMels = filterMels;
        FilterBins = filterBins;
        MelFilters = filters;
        Vocabulary = vocabulary;
        Tensors = tensors;
    }

    public WhisperConfig Config => Hparams.ToConfig(Path);
    public WhisperSpecialTokens SpecialTokens => WhisperSpecialTokens.ForVocabulary(Hparams.NVocab);

    public static WhisperGgmlFile Read(string path) => Read(path, withTensors: true, keepStored: null);

    /// <summary>
    /// As <see cref="Read(string)"/>, but tensors for which <paramref name="keepStored"/>(Hugging Face key, type) is true
    /// stay as the file stores them (<see cref="StoredTensors"/>), for packed layers that take them without a float32 copy.
    /// </summary>
    public static WhisperGgmlFile Read(string path, Func<string, GgmlType, bool>? keepStored) => Read(path, withTensors: true, keepStored);

    /// <summary>
    /// The hyper-parameters, mel filters and vocabulary, with every tensor's header checked as <see cref="Read(string)"/>
    /// checks it but its values skipped: what a caller that hands the file to another runtime (whisper.cpp, whose
    /// loader is not hardened against damaged files) needs to vet it and to read its token ids. Tensors stays empty.
    /// </summary>
    public static WhisperGgmlFile ReadHeader(string path) => Read(path, withTensors: false, keepStored: null);

    private static WhisperGgmlFile Read(string path, bool withTensors, Func<string, GgmlType, bool>? keepStored)
    {
        if (!File.Exists(path)) throw new CheckpointException($"{path}: file not found");
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        var reader = new Reader(stream, path);

        uint magic = reader.UInt32("magic");
        if (magic != Magic)
            throw new CheckpointException(magic == GgufMagic
                ? $"{path}: this is a GGUF file; whisper.cpp Whisper models use the older ggml layout (magic 0x{Magic:x8})"
                : $"{path}: bad magic 0x{magic:x8}, not a whisper.cpp ggml model (expected 0x{Magic:x8})");

        var h = new int[11];
        string[] names = ["n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer", "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer", "n_mels", "ftype"];
        for (int i = 0; i < h.Length; i++) h[i] = reader.Int32(names[i]);
        for (int i = 0; i < h.Length - 1; i++)
            if (h[i] <= 0) throw new CheckpointException($"{path}: hparam {names[i]} = {h[i]} is not positive");
        var hparams = new WhisperGgmlHparams(h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9], h[10]);

        int filterMels = reader.Int32("mel filters n_mel");
        int filterBins = reader.Int32("mel filters n_fft");
        if (filterMels != hparams.NMels || filterBins != WhisperAudio.NFft / 2 + 1)
            throw new CheckpointException($"{path}: mel filter bank is {filterMels} x {filterBins}, expected {hparams.NMels} x {WhisperAudio.NFft / 2 + 1}");
        // Counts are checked against the bytes left before anything is allocated for them.
        if ((long)filterMels * filterBins * 4 > stream.Length - stream.Position)
            throw new CheckpointException($"{path}: truncated: the {filterMels} x {filterBins} mel filter bank needs more bytes than the file has left");
        var filters = new float[filterMels * filterBins];
        reader.Floats(filters, "mel filters");

        int vocabCount = reader.Int32("vocabulary size");
        if (vocabCount < 0 || vocabCount > hparams.NVocab)
            throw new CheckpointException($"{path}: vocabulary holds {vocabCount} tokens, more than n_vocab {hparams.NVocab}");
        if (vocabCount * 4L > stream.Length - stream.Position)
            throw new CheckpointException($"{path}: truncated: a vocabulary of {vocabCount} tokens needs more bytes than the file has left");
        var vocabulary = new List<byte[]>(vocabCount);
        for (int i = 0; i < vocabCount; i++)
        {
            int length = reader.Int32($"length of token {i}");
            if (length < 0 || length > MaxNameBytes) throw new CheckpointException($"{path}: token {i} has length {length} at offset {stream.Position - 4}");
            vocabulary.Add(reader.Bytes(length, $"token {i}"));
        }

        var tensors = new Dictionary<string, GgmlTensor>(StringComparer.Ordinal);
        var stored = new Dictionary<string, GgmlStoredTensor>(StringComparer.Ordinal);
        long valueCount = 0;
        try
        {
            while (stream.Position < stream.Length)
            {
                var (t, raw, count) = ReadTensor(reader, stream, path, withTensors, keepStored);
                valueCount += count;
                string? name = t?.Name ?? raw?.Name;
                if (name is null) continue;
                if (tensors.ContainsKey(name) || stored.ContainsKey(name))
                {
                    t?.Values.Dispose();
                    throw new CheckpointException($"{path}: tensor '{name}' appears twice");
                }
                if (t is not null) tensors.Add(name, t);
                else stored.Add(name, raw!);
            }
        }
        catch
        {
            foreach (var t in tensors.Values) t.Values.Dispose();
            throw;
        }
        return new WhisperGgmlFile(path, hparams, filterMels, filterBins, filters, vocabulary, tensors, stored, valueCount);
    }

    /// <summary>
    /// The next tensor (dequantised, or as stored when <paramref name="keepStored"/> says so) and its value count; neither
    /// tensor after checking its header and skipping its values when <paramref name="readValues"/> is false.
    /// </summary>
    private static (GgmlTensor? Tensor, GgmlStoredTensor? Stored, long Count) ReadTensor(Reader reader, FileStream stream, string path, bool readValues,
        Func<string, GgmlType, bool>? keepStored)
    {
        long at = stream.Position;
        int dims = reader.Int32($"tensor header at offset {at}");
        int nameLength = reader.Int32($"tensor header at offset {at}");
        int rawType = reader.Int32($"tensor header at offset {at}");
        if (dims < 1 || dims > MaxDims) throw new CheckpointException($"{path}: tensor at offset {at} has {dims} dimensions (1..{MaxDims} allowed)");
        if (nameLength < 1 || nameLength > MaxNameBytes) throw new CheckpointException($"{path}: tensor at offset {at} has a name of {nameLength} bytes");
        var ne = new long[dims];
        for (int i = 0; i < dims; i++)
        {
            ne[i] = reader.Int32($"tensor dimensions at offset {at}");
            if (ne[i] <= 0) throw new CheckpointException($"{path}: tensor at offset {at} has dimension {i} = {ne[i]}");
        }
        string name = Encoding.UTF8.GetString(reader.Bytes(nameLength, $"name of tensor at offset {at}"));
        if (!GgmlTypes.IsSupported(rawType))
            throw new CheckpointException($"{path}: tensor '{name}' has ggml type {GgmlTypes.Describe(rawType)}, which this loader does not read (F32, F16, Q8_0, Q5_0, Q5_1, Q4_0, Q4_1)");
        var type = (GgmlType)rawType;
        // ggml lists dimensions fastest first; PyTorch lists them slowest first.
        var shape = ne.Reverse().ToArray();
        // Four int32 dimensions can multiply past a long; no file holds that many values anyway.
        long count = ne.Aggregate(1L, (a, b) => a > long.MaxValue / b ? long.MaxValue : a * b);
        if (count == long.MaxValue) throw new CheckpointException($"{path}: tensor '{name}' has dimensions [{string.Join(", ", shape)}] beyond any file");
        if (ne[0] % GgmlTypes.BlockValues(type) != 0)
            throw new CheckpointException($"{path}: tensor '{name}' ({type}) has rows of {ne[0]} values, not a multiple of the {GgmlTypes.BlockValues(type)}-value block");
        long bytes = GgmlTypes.ByteCount(type, count, name);
        long left = stream.Length - stream.Position;
        if (bytes > left)
            throw new CheckpointException($"{path}: truncated: tensor '{name}' ({type} [{string.Join(", ", shape)}]) needs {bytes} bytes at offset {stream.Position} but the file has {left} left");
        if (count > Array.MaxLength) throw new CheckpointException($"{path}: tensor '{name}' has {count} values, more than one array holds");
        if (!readValues)
        {
            stream.Seek(bytes, SeekOrigin.Current);
            return (null, null, count);
        }
        if (keepStored is not null && GgmlTensorNames.ToHuggingFace(name) is { } key && keepStored(key, type))
        {
            var data = GC.AllocateUninitializedArray<byte>((int)bytes);
            stream.ReadExactly(data);
            return (null, new GgmlStoredTensor(name, type, shape, data), count);
        }

        Tensor result;
        if (type == GgmlType.F32)
        {
            result = torch.empty(shape, ScalarType.Float32);
            result.ReadBytesFromStream(stream);
        }
        else if (type == GgmlType.F16)
        {
            // libtorch's vectorised half-to-float conversion is faster than a managed loop.
            using var half = torch.empty(shape, ScalarType.Float16);
            half.ReadBytesFromStream(stream);
            result = half.to(ScalarType.Float32);
        }
        else
        {
            var raw = ArrayPool<byte>.Shared.Rent((int)bytes);
            try
            {
                stream.ReadExactly(raw, 0, (int)bytes);
                var floats = GC.AllocateUninitializedArray<float>((int)count);
                GgmlDequantizer.Dequantize(type, raw, 0, floats, (int)count);
                result = torch.tensor(floats, shape);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(raw);
            }
        }
        return (new GgmlTensor(name, type, shape, result.DetachFromDisposeScope()), null, count);
    }

    /// <summary>
    /// The tensors under Hugging Face keys, reshaped to the module's shapes where the converter stored
    /// them differently (conv biases as (n, 1)). Names outside Whisper keep their ggml name so that the
    /// strict load reports them.
    /// </summary>
    public Dictionary<string, Tensor> HuggingFaceStateDict()
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var t in Tensors.Values)
        {
            string key = GgmlTensorNames.ToHuggingFace(t.Name) ?? t.Name;
            var value = t.Values;
            if (key.EndsWith(".bias", StringComparison.Ordinal) && value.dim() > 1) value = value.flatten();
            result[key] = value;
        }
        return result;
    }

    /// <summary>Tensors kept as stored, by Hugging Face key, for <see cref="WhisperForConditionalGeneration.LoadWeights"/>.</summary>
    public Dictionary<string, IPackedSource> PackedSources() =>
        StoredTensors.Values.ToDictionary(t => GgmlTensorNames.ToHuggingFace(t.Name) ?? t.Name, t => (IPackedSource)t, StringComparer.Ordinal);

    /// <summary>
    /// A model with this file's weights (the weights are copied; the file may be disposed afterwards), its decoder
    /// holding them as <paramref name="decoderWeights"/>: packed from <see cref="StoredTensors"/> where the file was
    /// read keeping them, else from the float32 values.
    /// </summary>
    public WhisperForConditionalGeneration CreateModel(WeightFormat decoderWeights = WeightFormat.Fp32)
    {
        var config = Config;
        // The hyper-parameters size the model before any weight is loaded; lying ones would allocate (and
        // initialise) gigabytes that the load then rejects, so they must describe no more weights than the file has.
        double needed = MinimumWeights(config);
        if (needed > ValueCount)
            throw new CheckpointException($"{Path}: the hyper-parameters describe a model of at least {needed:0} weights but the file holds {ValueCount}");
        if (decoderWeights == WeightFormat.Fp32 && StoredTensors.Count > 0)
            throw new InvalidOperationException($"{Path}: read keeping stored tensors, which an fp32 decoder cannot take");
        return ModuleLoading.BuildAndLoad(() => new WhisperForConditionalGeneration(config, decoderWeights), m =>
        {
            using var scope = torch.NewDisposeScope();
            if (decoderWeights == WeightFormat.Fp32) StateDictLoader.Load(m, HuggingFaceStateDict(), Path);
            else m.LoadWeights(HuggingFaceStateDict(), Path, PackedSources());
        });
    }

    /// <summary>
    /// Reads <paramref name="path"/> and builds its model with the decoder in <paramref name="decoderWeights"/>. For
    /// packed formats the decoder's matrices stay as stored (Q8_0 blocks become the int8 layout directly; F16 stays
    /// f16), so loading never holds them as float32.
    /// </summary>
    public static (WhisperForConditionalGeneration Model, WhisperGgmlFile Header) LoadModel(string path, WeightFormat decoderWeights)
    {
        Func<string, GgmlType, bool>? keep = null;
        if (decoderWeights != WeightFormat.Fp32)
        {
            using var header = ReadHeader(path);
            var packed = WhisperDecoder.PackedKeys(header.Config);
            // float32 tensors gain nothing from staying raw: the dense path packs them as it would.
            keep = (key, type) => packed.Contains(key) && type != GgmlType.F32;
        }
        var file = Read(path, keep);
        try
        {
            return (file.CreateModel(decoderWeights), file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The weights every Whisper of this config stores in its file: embeddings, convolutions and the layers' matrices.</summary>
    private static double MinimumWeights(WhisperConfig c)
    {
        double d = c.DModel;
        double encoder = c.NumMelBins * d * 3 + d * d * 3 + c.MaxSourcePositions * d + c.EncoderLayers * (4 * d * d + 2 * d * c.EncoderFfnDim);
        double decoder = c.VocabSize * d + c.MaxTargetPositions * d + c.DecoderLayers * (8 * d * d + 2 * d * c.DecoderFfnDim);
        return encoder + decoder;
    }

    public void Dispose()
    {
        foreach (var t in Tensors.Values) t.Values.Dispose();
    }

    /// <summary>Little-endian reads that name the field and offset when the file ends early.</summary>
    private sealed class Reader(FileStream stream, string path)
    {
        private readonly byte[] _buffer = new byte[8];

        public int Int32(string what)
        {
            Fill(_buffer, 4, what);
            return BitConverter.ToInt32(_buffer, 0);
        }

        public uint UInt32(string what)
        {
            Fill(_buffer, 4, what);
            return BitConverter.ToUInt32(_buffer, 0);
        }

        public byte[] Bytes(int count, string what)
        {
            var result = new byte[count];
            Fill(result, count, what);
            return result;
        }

        public void Floats(float[] destination, string what)
        {
            var bytes = Bytes(checked(destination.Length * 4), what);
            Buffer.BlockCopy(bytes, 0, destination, 0, bytes.Length);
        }

        private void Fill(byte[] buffer, int count, string what)
        {
            long at = stream.Position;
            int read = stream.ReadAtLeast(buffer.AsSpan(0, count), count, throwOnEndOfStream: false);
            if (read < count)
                throw new CheckpointException($"{path}: truncated while reading {what}: needed {count} bytes at offset {at}, the file ends after {read}");
        }
    }
}
