using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using WavFusion.Models.Fusion;
using WavFusion.Models.Text;
using WavFusion.Models.Vision;
using WavFusion.Training.Classifiers;
using WavFusion.Training.Cache;
using WavFusion.Training.Recipes;
using WavFusion.Training.Trainer;
using static TorchSharp.torch;

namespace WavFusion.Cli.Commands;

/// <summary>
/// `wavfusion bench train`: one training epoch (frozen encoders → collate → forward → backward → AdamW step, as
/// a run without and with the feature cache performs it) on synthetic utterances with random weights at real
/// dimensions. Without the cache every epoch runs all frozen parts: RoBERTa-base over the transcript tokens,
/// EfficientNet-B0 over the 224×224 face frames, and the wav2vec2 CNN + shallow layers. One epoch fills the
/// cache, then epochs with the cache off and warm alternate, so that load from other processes on a shared
/// machine falls on both alike; medians are reported.
/// </summary>
internal static class BenchTrainCommand
{
    public static Command Create()
    {
        var size = new Option<string>("--size") { Description = "model size: base (wav2vec2-base, the paper's) or demo (config/wavfusion-demo.json)", DefaultValueFactory = _ => "base" };
        var utterances = new Option<int>("--utterances") { Description = "synthetic utterances per epoch", DefaultValueFactory = _ => 16 };
        var seconds = new Option<double>("--seconds") { Description = "length of each utterance", DefaultValueFactory = _ => 3.0 };
        var batchSize = new Option<int>("--batch-size") { Description = "utterances per optimiser step (the experiments' default)", DefaultValueFactory = _ => 8 };
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
        Console.WriteLine($"libtorch {torch.__version__}, {threads} thread(s), {Environment.ProcessorCount} core(s), OpenMP wait: {WavFusion.Core.Runtime.OpenMpWaitPolicy.Describe()}");
        Console.WriteLine($"WavFusion {size} (random weights): {all:N0} parameters, {trainable:N0} trained; {config.ShallowLayers} frozen shallow + {config.DeepLayers} deep layers");
        using var encoders = FrozenEncoders.Create(size, config);
        var items = Synthetic(config, count, seconds, encoders.ImageSize);
        Console.WriteLine($"{count} utterances of {seconds:F1} s, {TextTokens} tokens through a random {encoders.TextName} ({config.TextDim}-d), "
            + $"{VisualFrames(seconds)} frames of {encoders.ImageSize}x{encoders.ImageSize} through a random {encoders.VisualName} ({config.VisualDim}-d); batch size {batchSize}");

        using var optimizer = new HeldScalarAdamW([new HeldScalarAdamW.Group(model.TrainableParameters().Select(p => p.Parameter), 1e-5)]);
        var uncached = new WavFusionBatchCollator(model, cache: null);
        // One untimed step, so libtorch's first-call allocations are charged to no epoch.
        Epoch(model, optimizer, uncached, batch => encoders.Featurize(batch, null), items.Take(Math.Min(batchSize, count)).ToArray(), batchSize);

        string cacheDir = Directory.CreateTempSubdirectory("wavfusion-bench-cache-").FullName;
        try
        {
            var cache = new FeatureCache(cacheDir);
            var cached = new WavFusionBatchCollator(model, cache);
            Func<BenchItem[], ITrainingItem[]> fromCache = batch => encoders.Featurize(batch, cache);
            Func<BenchItem[], ITrainingItem[]> computed = batch => encoders.Featurize(batch, null);
            var filling = Epoch(model, optimizer, cached, fromCache, items, batchSize);
            Report("cache filling", [filling], count);
            var off = new List<(double Wall, double Cpu)>();
            var warm = new List<(double Wall, double Cpu)>();
            for (int r = 0; r < repeats; r++)
            {
                off.Add(Epoch(model, optimizer, uncached, computed, items, batchSize));
                warm.Add(Epoch(model, optimizer, cached, fromCache, items, batchSize));
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

    /// <summary>An utterance before the frozen encoders: audio, token ids and ImageNet-normalised face frames.</summary>
    private sealed record BenchItem(string Id, int Label, float[] Audio, Tensor TokenIds, Tensor Frames);

    private static BenchItem[] Synthetic(WavFusionConfig config, int count, double seconds, int imageSize)
    {
        var random = new Random(1);
        int samples = (int)(seconds * 16000);
        return Enumerable.Range(0, count).Select(n =>
        {
            var audio = new float[samples];
            double hz = 120 + 200 * random.NextDouble();
            for (int i = 0; i < samples; i++) audio[i] = (float)(0.3 * Math.Sin(2 * Math.PI * hz * i / 16000) + 0.05 * (random.NextDouble() - 0.5));
            var ids = torch.randint(3, 1000, [1, TextTokens], dtype: ScalarType.Int64);
            var frames = torch.randn(VisualFrames(seconds), 3, imageSize, imageSize);
            return new BenchItem($"bench-{n:D4}", n % config.NumClasses, audio, ids, frames);
        }).ToArray();
    }

    /// <summary>The frozen text and image encoders at the size's real dimensions, random weights.</summary>
    private sealed class FrozenEncoders : IDisposable
    {
        private readonly RobertaModel _text;
        private readonly EfficientNetB0 _visual;

        private FrozenEncoders(RobertaModel text, EfficientNetB0 visual, int imageSize, string textName, string visualName)
        {
            _text = text;
            _visual = visual;
            ImageSize = imageSize;
            TextName = textName;
            VisualName = visualName;
            foreach (var p in _text.parameters().Concat(_visual.parameters())) p.requires_grad = false;
            _text.eval();
            _visual.eval();
        }

        public int ImageSize { get; }

        public string TextName { get; }

        public string VisualName { get; }

        public static FrozenEncoders Create(string size, WavFusionConfig config)
        {
            if (size == "base")
                return new FrozenEncoders(new RobertaModel(RobertaConfig.Base()), new EfficientNetB0(), ImageNetPreprocessing.CropSize, "RoBERTa-base", "EfficientNet-B0");
            // The demo size uses the demo encoders' shapes (DemoEncoders): a 2-layer RoBERTa and EfficientNet at width 0.25.
            var t = new DemoEncoders.TextEncoderShape();
            var v = new DemoEncoders.VisualEncoderShape();
            // The vocabulary's size follows the corpus; the demo's BPE learns at most MaxMerges on top of 261 symbols.
            var text = new RobertaConfig
            {
                VocabSize = 261 + t.MaxMerges, HiddenSize = t.HiddenSize, NumHiddenLayers = t.Layers, NumAttentionHeads = t.Heads,
                IntermediateSize = t.IntermediateSize, MaxPositionEmbeddings = t.MaxTokens + 2,
            };
            return new FrozenEncoders(new RobertaModel(text), new EfficientNetB0(1, v.WidthMult, v.DepthMult), v.ImageSize, "demo RoBERTa", "demo EfficientNet");
        }

        /// <summary>The batch's features, computed now or read from (and written to) <paramref name="cache"/>.</summary>
        public ITrainingItem[] Featurize(BenchItem[] batch, FeatureCache? cache) => batch.Select(item =>
        {
            Tensor text = cache is null ? Text(item)["features"] : cache.GetOrCompute("bench-text", TextName, item.Id, () => Text(item))["features"];
            Tensor visual = cache is null ? Visual(item)["features"] : cache.GetOrCompute("bench-visual", VisualName, item.Id, () => Visual(item))["features"];
            return (ITrainingItem)new TrainingItem(item.Id, item.Label, item.Audio, text, visual);
        }).ToArray();

        private Dictionary<string, Tensor> Text(BenchItem item)
        {
            using var noGrad = torch.no_grad();
            using var mask = torch.ones_like(item.TokenIds);
            return new() { ["features"] = _text.forward(item.TokenIds, mask)[0].contiguous() };
        }

        private Dictionary<string, Tensor> Visual(BenchItem item)
        {
            using var noGrad = torch.no_grad();
            return new() { ["features"] = _visual.Pooled(item.Frames).contiguous() };
        }

        public void Dispose()
        {
            _text.Dispose();
            _visual.Dispose();
        }
    }

    /// <summary>
    /// Wall and process CPU seconds for one pass over <paramref name="items"/>, as the trainer's epoch loop runs it;
    /// on a shared machine the CPU time is the steadier of the two.
    /// </summary>
    private static (double Wall, double Cpu) Epoch(WavFusionModel model, HeldScalarAdamW optimizer, WavFusionBatchCollator collator,
        Func<BenchItem[], ITrainingItem[]> featurize, IReadOnlyList<BenchItem> items, int batchSize)
    {
        model.train();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        for (int start = 0; start < items.Count; start += batchSize)
        {
            using var scope = torch.NewDisposeScope();
            var batch = collator.Collate(featurize(items.Skip(start).Take(batchSize).ToArray()));
            optimizer.ZeroGrad();
            using var output = model.forward(batch.Input);
            using var loss = model.Loss(output, batch.Labels);
            loss.Total.backward();
            optimizer.Step();
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
