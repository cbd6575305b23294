using TorchSharp;
using static TorchSharp.torch;

namespace WavFusion.StressRunner;

/// <summary>The named outputs of one pass of a scenario, copied out of libtorch as float32 so two passes compare bit for bit.</summary>
public sealed class Recording
{
    private readonly List<RecordedOutput> _outputs = [];

    public IReadOnlyList<RecordedOutput> Outputs => _outputs;

    public long Values => _outputs.Sum(o => (long)o.Values.Length);

    public void Add(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var copy = tensor.detach().to(ScalarType.Float32).contiguous();
        _outputs.Add(new RecordedOutput(name, tensor.shape, copy.data<float>().ToArray()));
    }

    public void Add(string name, double value) => _outputs.Add(new RecordedOutput(name, [], [(float)value]));
}

public sealed record RecordedOutput(string Name, long[] Shape, float[] Values);
