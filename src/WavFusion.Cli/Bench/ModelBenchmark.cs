using System.CommandLine;
using System.Globalization;
using TorchSharp;
using WavFusion.Core.Diagnostics;
using WavFusion.Models.Fusion;
using WavFusion.Models.Wav2Vec2;
using static TorchSharp.torch;
using WavFusion.Models.Layers;

namespace WavFusion.Cli.Bench;

/// <summary>
/// `wavfusion bench model`: for WavFusion at wav2vec2-base size and at the demo size (random weights, real
/// dimensions): parameter counts, forward latency for a 4 s window, a 10 s clip and a batch of 8 windows,
/// real-time factor, peak resident memory and native memory over many forwards; with an ONNX export of
/// wav2vec2-base, ONNX Runtime on the same shapes in the same process and the ratio.
/// </summary>
internal static class ModelBenchmark
{
    private const int Rate = Wav2Vec2Config.SamplingRate;

    private static readonly (string Name, int Batch, double Seconds)[] Shapes =
    [
        ("4 s window", 1, 4),
        ("10 s clip", 1, 10),
        ("8 x 4 s windows", 8, 4),
    ];

    public static Command CreateCommand()
    {
        var onnx = new Option<FileInfo?>("--onnx-reference") { Description = "wav2vec2-base ONNX export (tools/export_wav2vec2_onnx.py) to time with ONNX Runtime on the same shapes" };
        var threads = new Option<int>("--threads") { Description = "CPU threads for libtorch and ONNX Runtime", DefaultValueFactory = _ => Environment.ProcessorCount };
        var seconds = new Option<double>("--seconds") { Description = "minimum timed seconds per measurement", DefaultValueFactory = _ => 3.0 };
        var memoryRuns = new Option<int>("--memory-forwards") { Description = "forwards of a 4 s window (demo size) over which native memory is watched", DefaultValueFactory = _ => 1000 };
        var sizes = new Option<string>("--sizes") { Description = "comma-separated: base, demo", DefaultValueFactory = _ => "base,demo" };
        var frameLinear = new Option<string>("--frame-linear") { Description = "how wav2vec2 runs its per-frame linear layers on the CPU: auto (time both once per shape and keep the faster, the default), conv (oneDNN 1x1 convolution) or linear (F.linear)", DefaultValueFactory = _ => "auto" };
        frameLinear.AcceptOnlyFromAmong("auto", "conv", "linear");
        var command = new Command("model", "Time WavFusion (base and demo size) and the wav2vec2 encoder, ONNX Runtime side by side") { onnx, threads, seconds, memoryRuns, sizes, frameLinear };
        command.SetAction(parse =>
        {
            var chosen = parse.GetValue(sizes)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var s in chosen)
                if (s is not ("base" or "demo"))
                {
                    Console.Error.WriteLine($"error: --sizes: unknown size '{s}' (base, demo)");
                    return 2;
                }
            var path = parse.GetValue(frameLinear) switch
            {
                "conv" => FrameLinearPath.Convolution,
                "linear" => FrameLinearPath.Linear,
                _ => FrameLinearPath.Auto,
            };
            Run(parse.GetValue(onnx), parse.GetValue(threads), parse.GetValue(seconds), parse.GetValue(memoryRuns), chosen, path);
            return 0;
        });
        return command;
    }

    private static void Run(FileInfo? onnxPath, int threads, double minSeconds, int memoryForwards, string[] sizes, FrameLinearPath frameLinear)
    {
        torch.set_num_threads(threads);
        Console.WriteLine($"libtorch {torch.__version__}, {threads} thread(s), {Environment.ProcessorCount} core(s); random weights, real dimensions; inference mode; " +
                          $"wav2vec2 frame linears: {frameLinear.ToString().ToLowerInvariant()}; OpenMP wait: {WavFusion.Core.Runtime.OpenMpWaitPolicy.Describe()}; {WavFusion.Core.Runtime.NativeMemoryPolicy.Describe()}");
        foreach (var size in sizes)
        {
            var config = size == "base" ? WavFusionConfig.Base() : WavFusionConfig.Load(ProductPaths.Config("wavfusion-demo.json"));
            BenchSize(size, config, minSeconds, frameLinear);
        }

        if (onnxPath is not null) CompareWithOnnxRuntime(onnxPath, threads, minSeconds, frameLinear);

        if (memoryForwards > 0) WatchNativeMemory(memoryForwards, frameLinear);
        Console.WriteLine($"wav2vec2 frame linears: {FrameLinear.Describe(frameLinear)}");
    }

    private static void BenchSize(string size, WavFusionConfig config, double minSeconds, FrameLinearPath frameLinear)
    {
        torch.manual_seed(0);
        using var model = new WavFusionModel(config, frameLinear: frameLinear);
        model.eval();
        long total = model.parameters().Sum(p => p.numel());
        long trainable = model.parameters().Where(p => p.requires_grad).Sum(p => p.numel());
        using var encoder = new Wav2Vec2Model(config.Audio, frameLinear: frameLinear);
        encoder.eval();
        long encoderParameters = encoder.parameters().Sum(p => p.numel());
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"WavFusion {size}: {total:N0} parameters ({trainable:N0} trainable), wav2vec2 part {encoderParameters:N0}; {config.ShallowLayers}/{config.DeepLayers} shallow/deep"));

        foreach (var (name, batch, seconds) in Shapes)
        {
            int samples = (int)(seconds * Rate);
            using var audio = torch.randn(batch, samples);
            // A transcript of ~3 tokens per second and face features at 5 fps, as the live pipeline feeds them.
            using var text = torch.randn(batch, (long)Math.Ceiling(seconds * 3), config.TextDim);
            using var visual = torch.randn(batch, (long)Math.Ceiling(seconds * 5), config.VisualDim);
            var fused = Time(() => model.forward(WavFusionInput.FromAudio(audio, null, new ModalitySequence(text), new ModalitySequence(visual))), minSeconds);
            var audioOnly = Time(() => model.forward(WavFusionInput.FromAudio(audio)), minSeconds);
            var wav2vec2 = Time(() => encoder.forward(audio), minSeconds);
            double audioSeconds = batch * seconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {name,-16} A+T+V {fused.Median * 1000,7:F1} ms (RTF {fused.Median / audioSeconds:F3})  A {audioOnly.Median * 1000,7:F1} ms  wav2vec2 alone {wav2vec2.Median * 1000,7:F1} ms"));
        }
        Console.WriteLine($"  peak resident memory so far {ProcessMemory.PeakRssBytes() / 1048576.0:F0} MiB");
    }

    /// <summary>The wav2vec2-base encoder against ONNX Runtime on the same export's shapes, timed alternately.</summary>
    private static void CompareWithOnnxRuntime(FileInfo onnxPath, int threads, double minSeconds, FrameLinearPath frameLinear)
    {
        using var ort = new OnnxReference(onnxPath.FullName, threads);
        torch.manual_seed(0);
        using var encoder = new Wav2Vec2Model(Wav2Vec2Config.Base(), frameLinear: frameLinear);
        encoder.eval();
        Console.WriteLine($"wav2vec2-base: TorchSharp vs ONNX Runtime ({onnxPath.Name}), runs alternated:");
        foreach (var (name, batch, seconds) in Shapes)
        {
            int samples = (int)(seconds * Rate);
            using var audio = torch.randn(batch, samples);
            var (ours, theirs) = Measure.Interleaved(() =>
            {
                using var _ = torch.inference_mode();
                using var scope = torch.NewDisposeScope();
                encoder.forward(audio);
            }, ort.Forward(batch, samples), minRuns: 3, minSeconds: 2 * minSeconds);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {name,-16} TorchSharp {ours.Median * 1000,7:F1} ms (min {ours.Min * 1000:F1})  ORT {theirs.Median * 1000,7:F1} ms (min {theirs.Min * 1000:F1})  ratio {ours.Median / theirs.Median:F3}x (of minima {ours.Min / theirs.Min:F3}x)"));
        }
    }

    private static Timing Time(Action forward, double minSeconds) => Measure.Time(() =>
    {
        using var _ = torch.inference_mode();
        using var scope = torch.NewDisposeScope();
        forward();
    }, warmup: 1, minRuns: 3, minSeconds: minSeconds);

    private static void WatchNativeMemory(int forwards, FrameLinearPath frameLinear)
    {
        var config = WavFusionConfig.Load(ProductPaths.Config("wavfusion-demo.json"));
        torch.manual_seed(0);
        using var model = new WavFusionModel(config, frameLinear: frameLinear);
        model.eval();
        using var audio = torch.randn(1, 4 * Rate);
        using var text = torch.randn(1, 12, config.TextDim);
        using var visual = torch.randn(1, 20, config.VisualDim);
        // RSS moves with the allocator's caching and with the managed heap's growth to its budget, so the
        // native part (RSS minus the GC's committed heap) is sampled after a warm-up; live tensors count exactly.
        int warmup = Math.Min(100, forwards / 2);
        long liveBefore = 0, warm = 0, warmRss = 0, low = long.MaxValue, high = 0;
        for (int i = 0; i < forwards; i++)
        {
            using (torch.inference_mode())
            using (torch.NewDisposeScope())
            {
                model.forward(WavFusionInput.FromAudio(audio, null, new ModalitySequence(text), new ModalitySequence(visual)));
            }
            if (i + 1 == warmup || (i + 1 > warmup && (i + 1) % 50 == 0))
                GC.Collect(); // the managed heap's committed size is current only after a collection
            if (i + 1 == warmup)
            {
                warm = ProcessMemory.NativeResidentBytes();
                warmRss = ProcessMemory.CurrentRssBytes();
                liveBefore = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
            }
            if (i + 1 > warmup && (i + 1) % 50 == 0)
            {
                long native = ProcessMemory.NativeResidentBytes();
                low = Math.Min(low, native);
                high = Math.Max(high, native);
            }
        }
        GC.Collect();
        long after = ProcessMemory.NativeResidentBytes();
        long afterRss = ProcessMemory.CurrentRssBytes();
        long liveAfter = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        static double MiB(long bytes) => bytes / 1048576.0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"native memory, demo size A+T+V, {forwards} forwards of a 4 s window: {MiB(warm):F1} MiB after {warmup} warm-up forwards, {MiB(after):F1} MiB at the end (range {MiB(Math.Min(low, after)):F1}-{MiB(Math.Max(high, after)):F1} MiB; RSS minus the managed heap); live tensors {liveBefore} -> {liveAfter}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  whole process RSS {MiB(warmRss):F1} -> {MiB(afterRss):F1} MiB, managed heap committed {MiB(ProcessMemory.ManagedCommittedBytes()):F1} MiB"));
    }
}
