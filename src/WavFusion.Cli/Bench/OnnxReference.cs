using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace WavFusion.Cli.Bench;

/// <summary>Times ONNX Runtime on a wav2vec2 export (input_values (B, samples) -> last_hidden_state), for side-by-side ratios.</summary>
internal sealed class OnnxReference : IDisposable
{
    private readonly InferenceSession _session;
    private readonly string _inputName;

    public OnnxReference(string path, int threads)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: ONNX reference model not found (make it with tools/export_wav2vec2_onnx.py OUT.onnx)", path);
        var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        // Spinning workers would keep burning the cores while libtorch runs in between (the runs alternate).
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        _session = new InferenceSession(path, options);
        _inputName = _session.InputMetadata.Keys.First();
    }

    /// <summary>A runnable ONNX Runtime forward on random input of the given shape (the caller times it).</summary>
    public Action Forward(int batch, int samples)
    {
        var random = new Random(0);
        var data = new float[batch * samples];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 2 - 1);
        var input = new DenseTensor<float>(data, [batch, samples]);
        var inputs = new[] { NamedOnnxValue.CreateFromTensor(_inputName, input) };
        return () =>
        {
            using var results = _session.Run(inputs);
        };
    }

    public void Dispose() => _session.Dispose();
}
