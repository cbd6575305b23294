using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using WavFusion.Models.Fusion;
using WavFusion.Training.Cache;
using WavFusion.Training.Trainer;
using static TorchSharp.torch;

namespace WavFusion.Cli.Commands;

/// <summary>
/// `wavfusion bench train`: one training epoch (collate → forward → backward → AdamW step, as the trainer runs
/// it) on synthetic utterances with random weights: one epoch that fills the feature cache, then epochs with
/// the cache off and warm (reading the frozen CNN + shallow layers back) alternately, so that load from other
/// processes on a shared machine falls on both alike; medians are reported.
/// </summary>
internal static class BenchTrainCommand
{
    public static Command Create()
    {
        var size = new Option<string>("--size") { Description = "model size: base (wav2vec2-base, the paper's) or demo (config/wavfusion-demo.json)", DefaultValueFactory = _ => "base" };
        var utterances = new Option<int>("--utterances") { Description = "synthetic utterances per epoch", DefaultValueFactory = _ => 16 };
        var seconds = new Option<double>("--seconds") { Description = "length of each utterance", DefaultValueFactory = _ => 3.0 };
        var batchSize = new Option<int>("--batch-size") { Description = "utterances per optimiser step", DefaultValueFactory = _ => 4 };
        var threads = new Option<int>("--threads") { Description = "CPU threads for libtorch", DefaultValueFactory = _ => Environment.ProcessorCount };
        var repeats = new Option<int>("--repeats") { Description = "alternating cache-off / warm-cache epoch pairs to take the median of", DefaultValueFactory = _ => 3 };
        var command = new Command("train", "Time a training epoch with the feature cache off, filling and warm (random weights, synthetic data)")
            { size, utterances, seconds, batchSize, threads, repeats };
        command.SetAction(parse => Run(parse.GetValue(size)!, parse.GetValue(utterances), parse.GetValue(seconds), parse.GetValue(batchSize),
            parse.GetValue(threads), parse.GetValue(repeats)));
        return command;
    }

    private static int Run(string size, int count, double seconds, int batchSize, int threads, int repeats)
    {
        string? problem = size is not ("base" or "demo") ? $"--size must be base or demo; got '{size}'"
            : count < 1 ? $"--utterances must be at least 1; got {count}"
            : batchSize < 1 ? $"--batch-size must be at least 1; got {batchSize}"
            : !(seconds >= 0.5) ? $"--seconds must be at least 0.5; got {seconds}"
            : threads < 1 ? $"--threads must be at least 1; got {threads}"
            : repeats < 1 ? $"--repeats must be at least 1; got {repeats}"
            : null;
        if (problem is not null)
        {
            Console.Error.WriteLine($"error: {problem}");
            return 2;
        }
        torch.set_num_threads(threads);
        var config = size == "base" ? WavFusionConfig.Base() : WavFusionConfig.Load(ProductPaths.Config("wavfusion-demo.json"));
        torch.manual_seed(0);
        using var model = new WavFusionModel(config);
        long trainable = model.TrainableParameters().Sum(p => p.Parameter.numel()), all = model.parameters().Sum(p => p.numel());
        Console.WriteLine($"libtorch {torch.__version__}, {threads} thread(s), {Environment.ProcessorCount} core(s)");
        Console.WriteLine($"WavFusion {size} (random weights): {all:N0} parameters, {trainable:N0} trained; {config.ShallowLayers} frozen shallow + {config.DeepLayers} deep layers");
        var items = Synthetic(config, count, seconds);
        Console.WriteLine($"{count} utterances of {seconds:F1} s, text ({TextTokens}, {config.TextDim}), visual ({VisualFrames(seconds)}, {config.VisualDim}); batch size {batchSize}");

        using var optimizer = torch.optim.AdamW(model.TrainableParameters().Select(p => p.Parameter), 1e-5);
        var uncached = new BatchCollator(model, cache: null);
        // One untimed step, so libtorch's first-call allocations are charged to no epoch.
        Epoch(model, optimizer, uncached, items.Take(Math.Min(batchSize, count)).ToArray(), batchSize);

        string cacheDir = Directory.CreateTempSubdirectory("wavfusion-bench-cache-").FullName;
        try
        {
            var cache = new FeatureCache(cacheDir);
            var cached = new BatchCollator(model, cache);
            var filling = Epoch(model, optimizer, cached, items, batchSize);
            Report("cache filling", [filling], count);
            var off = new List<(double Wall, double Cpu)>();
            var warm = new List<(double Wall, double Cpu)>();
            for (int r = 0; r < repeats; r++)
            {
                off.Add(Epoch(model, optimizer, uncached, items, batchSize));
                warm.Add(Epoch(model, optimizer, cached, items, batchSize));
            }
            Report("cache off", off, count);
            Report("cache warm", warm, count);
            var stats = cache.Stats;
            Console.WriteLine($"speed-up of a warm-cache epoch over no cache: {Median(off, e => e.Wall) / Median(warm, e => e.Wall):F2}x wall, "
                + $"{Median(off, e => e.Cpu) / Median(warm, e => e.Cpu):F2}x CPU time (medians of {repeats})"
                + $"  (cache: {stats.Hits} hits, {stats.Misses} misses, {DirectorySize(cacheDir) / 1e6:F1} MB)");
        }
        finally
        {
            Directory.Delete(cacheDir, recursive: true);
        }
        return 0;
    }

    private const int TextTokens = 24;

    /// <summary>Face frames at the paper's 5 fps.</summary>
    private static int VisualFrames(double seconds) => Math.Max(1, (int)Math.Round(seconds * 5));

    private static TrainingItem[] Synthetic(WavFusionConfig config, int count, double seconds)
    {
        var random = new Random(1);
        int samples = (int)(seconds * 16000);
        return Enumerable.Range(0, count).Select(n =>
        {
            var audio = new float[samples];
            double hz = 120 + 200 * random.NextDouble();
            for (int i = 0; i < samples; i++) audio[i] = (float)(0.3 * Math.Sin(2 * Math.PI * hz * i / 16000) + 0.05 * (random.NextDouble() - 0.5));
            return new TrainingItem($"bench-{n:D4}", n % config.NumClasses, audio,
                torch.randn(TextTokens, config.TextDim), torch.randn(VisualFrames(seconds), config.VisualDim));
        }).ToArray();
    }

    /// <summary>
    /// Wall and process CPU seconds for one pass over <paramref name="items"/>, as the trainer's epoch loop runs it;
    /// on a shared machine the CPU time is the steadier of the two.
    /// </summary>
    private static (double Wall, double Cpu) Epoch(WavFusionModel model, optim.Optimizer optimizer, BatchCollator collator, IReadOnlyList<ITrainingItem> items, int batchSize)
    {
        model.train();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        for (int start = 0; start < items.Count; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            var batch = collator.Collate(items.Skip(start).Take(batchSize).ToArray());
            optimizer.zero_grad();
            using var output = model.forward(batch.Input);
            using var loss = model.Loss(output, batch.Labels);
            loss.Total.backward();
            optimizer.step();
            _ = loss.Total.item<float>();
        }
        return (clock.Elapsed.TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
    }

    private static void Report(string what, IReadOnlyList<(double Wall, double Cpu)> epochs, int count)
    {
        double wall = Median(epochs, e => e.Wall), cpu = Median(epochs, e => e.Cpu);
        string runs = epochs.Count == 1 ? "" : $"  [median of {epochs.Count}; wall {string.Join(", ", epochs.Select(e => e.Wall.ToString("F1", CultureInfo.InvariantCulture)))} s]";
        Console.WriteLine($"  epoch, {what,-13}: {wall,7:F2} s  {count / wall,7:F2} utterances/s  (CPU {cpu,7:F2} s, {count / cpu,7:F2} utterances per CPU-second){runs}");
    }

    private static double Median(IReadOnlyList<(double Wall, double Cpu)> epochs, Func<(double Wall, double Cpu), double> select)
    {
        var sorted = epochs.Select(select).Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static long DirectorySize(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
}
