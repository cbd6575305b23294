using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace WavFusion.Live.Stages;

/// <summary>
/// The Silero VAD v5 ONNX model (models/silero-vad), loaded once and shared by the detectors of every stream
/// (ONNX Runtime runs one session from many threads). The signature is read from the session's metadata, not
/// assumed: one float audio input of rank 2, one float recurrent-state input of rank 3, one int64 sample-rate
/// input, and outputs of the same ranks (probability and next state). A file that is missing, is not an ONNX
/// model or has another signature (Silero v4's separate h and c, say) is refused with an error naming it.
/// </summary>
public sealed class SileroVadModel : IDisposable
{
    /// <summary>New samples per inference at 16 kHz (the v5 model's chunk size).</summary>
    public const int FrameSamples = 512;

    /// <summary>Samples of the previous frame prepended to each input: v5's convention (models/silero-vad/README.md).</summary>
    public const int ContextSamples = 64;

    private readonly InferenceSession _session;

    public SileroVadModel(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: Silero VAD model not found", path);
        Path = path;
        using var options = new SessionOptions
        {
            // A 2 MB model run every 32 ms per stream: more threads only add hand-off cost and contend with Whisper.
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        try
        {
            _session = new InferenceSession(path, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"{path}: not a loadable ONNX model: {e.Message}", e);
        }
        try
        {
            (AudioInput, StateInput, SampleRateInput, StateShape) = ReadInputs(path, _session.InputMetadata);
            (ProbabilityOutput, StateOutput) = ReadOutputs(path, _session.OutputMetadata);
        }
        catch
        {
            _session.Dispose();
            throw;
        }
    }

    public string Path { get; }

    public string AudioInput { get; }

    public string StateInput { get; }

    public string SampleRateInput { get; }

    public string ProbabilityOutput { get; }

    public string StateOutput { get; }

    /// <summary>Shape of the recurrent state for one stream: (2, 1, 128) for v5.</summary>
    public IReadOnlyList<long> StateShape { get; }

    internal InferenceSession Session => _session;

    public void Dispose() => _session.Dispose();

    private static (string Audio, string State, string SampleRate, long[] StateShape) ReadInputs(string path, IReadOnlyDictionary<string, NodeMetadata> inputs)
    {
        string? audio = null, state = null, sampleRate = null;
        long[] stateShape = [];
        foreach (var (name, meta) in inputs)
        {
            if (meta.OnnxValueType != OnnxValueType.ONNX_TYPE_TENSOR) continue;
            if (meta.ElementDataType == TensorElementType.Int64 && meta.Dimensions.Length <= 1) sampleRate ??= name;
            else if (meta.ElementDataType == TensorElementType.Float && meta.Dimensions.Length == 2) audio ??= name;
            else if (meta.ElementDataType == TensorElementType.Float && meta.Dimensions.Length == 3)
            {
                state ??= name;
                // Dynamic dimensions read as -1: the batch is one stream; the v5 state is (2, batch, 128).
                stateShape = [Fixed(meta.Dimensions[0], 2), 1, Fixed(meta.Dimensions[2], 128)];
            }
        }
        if (inputs.Count != 3 || audio is null || state is null || sampleRate is null)
            throw new InvalidDataException($"{path}: not a Silero VAD v5 model: expected inputs (float audio [batch, samples], float state [2, batch, 128], int64 sr), found {Describe(inputs)}");
        return (audio, state, sampleRate, stateShape);
    }

    private static (string Probability, string State) ReadOutputs(string path, IReadOnlyDictionary<string, NodeMetadata> outputs)
    {
        string? probability = null, state = null;
        foreach (var (name, meta) in outputs)
        {
            if (meta.OnnxValueType != OnnxValueType.ONNX_TYPE_TENSOR || meta.ElementDataType != TensorElementType.Float) continue;
            if (meta.Dimensions.Length == 2) probability ??= name;
            else if (meta.Dimensions.Length == 3) state ??= name;
        }
        if (outputs.Count != 2 || probability is null || state is null)
            throw new InvalidDataException($"{path}: not a Silero VAD v5 model: expected outputs (float probability [batch, 1], float state [2, batch, 128]), found {Describe(outputs)}");
        return (probability, state);
    }

    private static long Fixed(int dimension, long fallback) => dimension > 0 ? dimension : fallback;

    private static string Describe(IReadOnlyDictionary<string, NodeMetadata> nodes) =>
        nodes.Count == 0
            ? "none"
            : string.Join(", ", nodes.Select(n => $"{n.Key} {n.Value.ElementDataType} [{string.Join(", ", n.Value.Dimensions)}]"));
}
