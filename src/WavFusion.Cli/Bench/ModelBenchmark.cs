using System.CommandLine;
using System.Globalization;
using TorchSharp;
using WavFusion.Core.Diagnostics;
using WavFusion.Models.Wav2Vec2;
using static TorchSharp.torch;

namespace WavFusion.Cli.Bench;

/// <summary>
/// `wavfusion bench model`: parameter counts, forward latency (4 s window, 10 s clip, batch of 8 windows),
/// real-time factor and resident memory, with random weights at real dimensions; optionally ONNX Runtime on
/// the same shapes in the same process for a side-by-side ratio.
/// </summary>
internal static class ModelBenchmark
{
    private const int Rate = Wav2Vec2Config.SamplingRate;

    public static Command CreateCommand()
    {
        var onnx = new Option<FileInfo?>("--onnx-reference") { Description = "wav2vec2-base ONNX export (../shared/tools/export_wav2vec2_onnx.py) to time with ONNX Runtime on the same shapes" };
        var threads = new Option<int>("--threads") { Description = "CPU threads for libtorch and ONNX Runtime", DefaultValueFactory = _ => Environment.ProcessorCount };
        var seconds = new Option<double>("--seconds") { Description = "minimum timed seconds per measurement", DefaultValueFactory = _ => 3.0 };
        var memoryRuns = new Option<int>("--memory-forwards") { Description = "forwards of a 4 s window over which native memory is watched", DefaultValueFactory = _ => 1000 };
        var command = new Command("model", "Time the wav2vec2 encoder (and ONNX Runtime side by side)") { onnx, threads, seconds, memoryRuns };
        command.SetAction(parse =>
        {
            Run(parse.GetValue(onnx), parse.GetValue(threads), parse.GetValue(seconds), parse.GetValue(memoryRuns));
            return 0;
        });
        return command;
    }

    private static void Run(FileInfo? onnxPath, int threads, double minSeconds, int memoryForwards)
    {
        torch.set_num_threads(threads);
        Console.WriteLine($"libtorch {torch.__version__}, {threads} thread(s), {Environment.ProcessorCount} core(s)");
        var shapes = new (string Name, int Batch, int Samples)[]
        {
            ("4 s window", 1, 4 * Rate),
            ("10 s clip", 1, 10 * Rate),
            ("8 x 4 s windows", 8, 4 * Rate),
        };

        torch.manual_seed(0);
        using var encoder = new Wav2Vec2Model(Wav2Vec2Config.Base());
        encoder.eval();
        long parameters = encoder.parameters().Sum(p => p.numel());
        Console.WriteLine($"wav2vec2-base (random weights): {parameters:N0} parameters");

        var results = new Dictionary<string, Timing>();
        foreach (var (name, batch, samples) in shapes)
        {
            using var input = torch.randn(batch, samples);
            var timing = Measure.Time(() =>
            {
                using var _ = torch.inference_mode();
                using var scope = torch.NewDisposeScope();
                encoder.forward(input);
            }, warmup: 1, minRuns: 3, minSeconds: minSeconds);
            results[name] = timing;
            double audio = (double)batch * samples / Rate;
            Console.WriteLine($"  {name,-16} {timing}  RTF {timing.Median / audio:F3}");
        }
        Console.WriteLine($"  peak resident memory {ProcessMemory.PeakRssBytes() / 1048576.0:F0} MiB");

        if (onnxPath is not null)
        {
            using var ort = new OnnxReference(onnxPath.FullName, threads);
            Console.WriteLine($"ONNX Runtime on {onnxPath.Name}:");
            foreach (var (name, batch, samples) in shapes)
            {
                var timing = ort.Time(batch, samples, minSeconds);
                Console.WriteLine($"  {name,-16} {timing}  TorchSharp/ORT {results[name].Median / timing.Median:F3}x");
            }
        }

        if (memoryForwards > 0)
        {
            using var input = torch.randn(1, 4 * Rate);
            long before = 0;
            for (int i = 0; i < memoryForwards; i++)
            {
                using (torch.inference_mode())
                using (torch.NewDisposeScope())
                {
                    encoder.forward(input);
                }
                if (i == Math.Min(9, memoryForwards - 1)) before = ProcessMemory.CurrentRssBytes();
            }
            long after = ProcessMemory.CurrentRssBytes();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"native memory over {memoryForwards} forwards (4 s window): RSS {before / 1048576.0:F0} MiB after 10 -> {after / 1048576.0:F0} MiB at the end ({(after - before) / 1048576.0:+0.0;-0.0} MiB)"));
        }
    }
}
