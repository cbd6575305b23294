using System.Collections.Concurrent;
using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace WavFusion.Models.Wav2Vec2;

/// <summary>How <see cref="FrameLinear"/> runs a per-frame linear layer on the CPU.</summary>
public enum FrameLinearPath
{
    /// <summary>Time both paths the first time a shape is seen without autograd and keep the faster one for that shape.</summary>
    Auto,

    /// <summary>Always the 1×1 convolution (oneDNN).</summary>
    Convolution,

    /// <summary>Always <c>F.linear</c> (libtorch's sgemm).</summary>
    Linear,
}

/// <summary>
/// A linear layer applied to every frame of a (B, T, in) sequence. On the CPU it can run as a 1×1 convolution
/// over a channels-last view of the same memory — (B, T, in) is exactly NHWC of a (B, in, T, 1) image — which
/// hands it to oneDNN's JIT kernels instead of the sgemm behind <c>F.linear</c>; no data is copied on the way in
/// or out, and the result is the same product (the same sums, in another order).
/// Which of the two is faster depends on the CPU and the shape, and not smoothly: the convolution wins on some
/// machines and loses badly on others, for some shapes only (README, "Performance notes").
/// So by default (<see cref="FrameLinearPath.Auto"/>) each (rows, in, out) shape (rows in quarter-octave steps) is timed
/// once on both paths, alternated, the first time it runs without autograd, and the faster path is kept for it —
/// the way cuDNN's benchmark mode picks convolution algorithms. With autograd on (training) Auto always takes
/// <c>F.linear</c>, so a run's numbers never depend on a timing. Off the CPU, for other ranks or dtypes, or non-contiguous input it is always the plain linear layer.
/// </summary>
public static class FrameLinear
{
    /// <summary>Timed runs of each path per shape when tuning (the minimum counts).</summary>
    public const int TuningRuns = 3;

    private static readonly ConcurrentDictionary<(long Rows, long In, long Out), bool> s_useConvolution = new();

    /// <summary>
    /// The tuned choice per (rows = B·T, in, out): true = convolution. Empty until <see cref="FrameLinearPath.Auto"/> has
    /// timed a shape. Shared by the process like cuDNN's benchmark cache: it records measurements of this machine, not a
    /// setting, and is safe to read and fill from concurrent sessions (a shape two threads tune at once keeps the first result).
    /// </summary>
    public static IReadOnlyDictionary<(long Rows, long In, long Out), bool> TunedShapes => s_useConvolution;

    /// <summary>Forgets the tuned choices (a new process starts empty anyway).</summary>
    public static void ResetTuning() => s_useConvolution.Clear();

    /// <summary>One line for benchmark output: the path and, for Auto, how many tuned shapes took each path so far.</summary>
    public static string Describe(FrameLinearPath path)
    {
        if (path != FrameLinearPath.Auto) return path == FrameLinearPath.Convolution ? "oneDNN 1x1 convolution" : "F.linear";
        int conv = s_useConvolution.Values.Count(v => v);
        return $"auto-tuned per shape ({conv} of {s_useConvolution.Count} timed shapes on the 1x1 convolution)";
    }

    /// <summary>(B, T, in) → (B, T, out) on <paramref name="path"/> (where the CPU conditions allow the convolution).</summary>
    public static Tensor Apply(Linear linear, Tensor frames, FrameLinearPath path)
    {
        ArgumentNullException.ThrowIfNull(linear);
        ArgumentNullException.ThrowIfNull(frames);
        var weight = linear.weight!;
        if (path == FrameLinearPath.Linear || frames.device_type != DeviceType.CPU || frames.dim() != 3 || !frames.is_contiguous()
            || frames.dtype != ScalarType.Float32 || frames.shape[2] != weight.shape[1])
            return linear.forward(frames);
        if (path == FrameLinearPath.Convolution) return Convolve(linear, frames);

        // Training stays on one path whatever was timed, so its numbers never depend on a measurement.
        if (torch.is_grad_enabled()) return linear.forward(frames);
        var key = ShapeKey(frames.shape[0] * frames.shape[1], frames.shape[2], weight.shape[0]);
        if (s_useConvolution.TryGetValue(key, out bool useConvolution))
            return useConvolution ? Convolve(linear, frames) : linear.forward(frames);
        return Tune(linear, frames, key);
    }

    /// <summary>
    /// The tuning-table key of a (rows, in, out) product: rows are rounded up to a quarter-octave step (at most
    /// 1.25× apart), so a dataset of clips of every length tunes a few dozen shapes, not one per length.
    /// </summary>
    public static (long Rows, long In, long Out) ShapeKey(long rows, long input, long output)
    {
        long step = rows <= 8 ? 1 : 1L << (61 - (int)long.LeadingZeroCount(rows));
        return ((rows + step - 1) / step * step, input, output);
    }

    private static Tensor Tune(Linear linear, Tensor frames, (long, long, long) key)
    {
        double convolutionMs = double.MaxValue, plainMs = double.MaxValue;
        Tensor? convolved = null, plain = null;
        for (int run = 0; run < TuningRuns; run++)
        {
            convolved?.Dispose();
            plain?.Dispose();
            long start = Stopwatch.GetTimestamp();
            convolved = Convolve(linear, frames);
            convolutionMs = Math.Min(convolutionMs, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            start = Stopwatch.GetTimestamp();
            plain = linear.forward(frames);
            plainMs = Math.Min(plainMs, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        s_useConvolution.TryAdd(key, convolutionMs < plainMs);
        // The two paths differ in the last bit, so the call that tunes returns what every later call of the shape
        // will (the table's choice, which a racing call may have stored first): a result never depends on whether
        // its shape was timed before.
        bool useConvolution = s_useConvolution[key];
        (useConvolution ? plain : convolved)!.Dispose();
        return (useConvolution ? convolved : plain)!;
    }

    private static Tensor Convolve(Linear linear, Tensor frames)
    {
        var weight = linear.weight!;
        long batch = frames.shape[0], time = frames.shape[1], input = frames.shape[2], output = weight.shape[0];
        using var image = frames.view(batch, time, 1, input).permute(0, 3, 1, 2);
        using var kernel = weight.view(output, input, 1, 1);
        using var result = nn.functional.conv2d(image, kernel, linear.bias);
        return result.permute(0, 2, 3, 1).reshape(batch, time, output);
    }
}
