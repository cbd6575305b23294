using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace WavFusion.Models.Wav2Vec2;

/// <summary>The convolutional feature encoder (HF <c>feature_extractor</c>): raw samples (B, L) → features (B, frames, conv_dim[-1]).</summary>
public sealed class Wav2Vec2FeatureEncoder : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<Wav2Vec2FeatureEncoderLayer> conv_layers;
    private readonly long _firstChannels;
    private readonly long _firstKernel;
    private readonly long _firstStride;

    /// <summary>
    /// Largest first-layer activation (bytes) one CPU pass may allocate; bigger batches run in chunks of rows.
    /// glibc serves larger blocks straight from the kernel (see <see cref="WavFusion.Core.Runtime.NativeMemoryPolicy"/>),
    /// which faults in and zeroes fresh pages at every layer, so one big pass is slower than the same rows in chunks
    /// (README, "Performance notes"). The layers never mix rows, so chunking is exact.
    /// </summary>
    public long CpuChunkBytes { get; set; } = DefaultCpuChunkBytes;

    /// <summary>The default of <see cref="CpuChunkBytes"/>: glibc's largest heap-served block under the project's malloc policy.</summary>
    public const long DefaultCpuChunkBytes = WavFusion.Core.Runtime.NativeMemoryPolicy.MmapThresholdBytes;

    public Wav2Vec2FeatureEncoder(Wav2Vec2Config config, Device? device = null) : base(nameof(Wav2Vec2FeatureEncoder))
    {
        conv_layers = new ModuleList<Wav2Vec2FeatureEncoderLayer>();
        for (int i = 0; i < config.ConvLayerCount; i++) conv_layers.Add(new Wav2Vec2FeatureEncoderLayer(config, i, device));
        (_firstChannels, _firstKernel, _firstStride) = (config.ConvDim[0], config.ConvKernel[0], config.ConvStride[0]);
        RegisterComponents();
    }

    public override Tensor forward(Tensor inputValues)
    {
        using var scope = torch.NewDisposeScope();
        long rows = inputValues.shape[0];
        long chunk = RowsPerPass(inputValues);
        if (chunk >= rows) return Run(inputValues).transpose(1, 2).MoveToOuterDisposeScope();
        var parts = new List<Tensor>();
        for (long start = 0; start < rows; start += chunk)
            parts.Add(Run(inputValues.narrow(0, start, Math.Min(chunk, rows - start))));
        return torch.cat(parts, 0).transpose(1, 2).MoveToOuterDisposeScope();
    }

    /// <summary>Rows per pass: all of them off the CPU, else as many as keep the first layer's output within <see cref="CpuChunkBytes"/>.</summary>
    public long RowsPerPass(Tensor inputValues)
    {
        long rows = inputValues.shape[0];
        if (inputValues.device_type != DeviceType.CPU || rows <= 1) return rows;
        long frames = (inputValues.shape[1] - _firstKernel) / _firstStride + 1;
        long rowBytes = Math.Max(1, _firstChannels * frames * inputValues.ElementSize);
        return Math.Clamp(CpuChunkBytes / rowBytes, 1, rows);
    }

    private Tensor Run(Tensor inputValues)
    {
        using var scope = torch.NewDisposeScope();
        var x = inputValues.unsqueeze(1);
        foreach (var layer in conv_layers) x = layer.forward(x);
        return x.MoveToOuterDisposeScope();
    }
}
