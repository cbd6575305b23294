using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using WavFusion.Core.Quantization;
using WavFusion.Core.Runtime;
using WavFusion.Live.Asr;
using WavFusion.Models.Whisper;
using static TorchSharp.torch;

namespace WavFusion.Cli.Bench;

/// <summary>
/// `wavfusion bench asr`: Whisper at tiny and base dimensions with random weights, our port with its decoder in
/// fp32, f16 and int8 beside whisper.cpp (Whisper.net) on the very same ggml file, same thread count, same process,
/// measured round-robin so that a busy machine slows every engine alike: encoder per 30 s window, decoder per token,
/// and the streaming real-time factor at 1 s steps, with ratios to whisper.cpp.
/// </summary>
/// <remarks>
/// The ggml files are written by our writer from one random model (an F16 file, the format published models come
/// in, and a Q8_0 file of the same weights). Random weights never say "end of text" on purpose only if that token's
/// embedding row is zero (its logit is then 0 while the best of 51,865 random logits is far above), so both engines
/// decode the number of tokens asked for: whisper.cpp's per-token time is the difference between runs with few and
/// many tokens over the tokens each produced, which also removes its mel spectrogram and encoder; its encoder time is
/// the short run's time after its encoder-begin callback, less the prompt and tokens decoded.
/// </remarks>
internal static class AsrBenchmark
{
    public static Command CreateCommand()
    {
        var sizes = new Option<string[]>("--size") { Description = "model dimensions to time: tiny, base, small", DefaultValueFactory = _ => ["tiny", "base"], AllowMultipleArgumentsPerToken = true };
        var threads = new Option<int>("--threads") { Description = "CPU threads for libtorch, our kernels and whisper.cpp", DefaultValueFactory = _ => Environment.ProcessorCount };
        var tokens = new Option<int>("--tokens") { Description = "tokens decoded per timed run", DefaultValueFactory = _ => 48 };
        var rounds = new Option<int>("--rounds") { Description = "round-robin rounds per measurement (each engine once per round; medians are printed)", DefaultValueFactory = _ => 5 };
        var weights = new Option<string[]>("--weights") { Description = "decoder weight formats of our port to time: fp32, f16, int8", DefaultValueFactory = _ => ["fp32", "f16", "int8"], AllowMultipleArgumentsPerToken = true };
        var isa = new Option<string?>("--isa") { Description = "force our kernels' instruction set: scalar, avx2 or avx512 (default: the best the CPU has)" };
        var whisperCpp = new Option<bool>("--whisper-cpp") { Description = "also time whisper.cpp (Whisper.net) on the same files", DefaultValueFactory = _ => true };
        var device = new Option<string>("--device") { Description = "cpu or cuda (cuda: our fp32 or --half only, no whisper.cpp)", DefaultValueFactory = _ => "cpu" };
        var half = new Option<bool>("--half") { Description = "float16 weights and activations (GPU)" };
        var stream = new Option<double>("--stream-seconds") { Description = "length of the simulated speech stream for the streaming real-time factor (0 skips it)", DefaultValueFactory = _ => 30.0 };
        var steps = new Option<double[]>("--stream-step") { Description = "streaming step(s) in seconds (new audio per re-transcription)", DefaultValueFactory = _ => [1.0], AllowMultipleArgumentsPerToken = true };
        var fullWindow = new Option<bool>("--stream-full-window") { Description = "also time our streaming with every buffer encoded as a padded 30 s window" };
        var workDir = new Option<DirectoryInfo?>("--work-dir") { Description = "where to write (and keep) the ggml files; default a temporary folder, deleted afterwards" };
        var command = new Command("asr", "Time Whisper (random weights, tiny/base dimensions): our port in fp32/f16/int8 beside whisper.cpp on the same ggml file")
        {
            sizes, threads, tokens, rounds, weights, isa, whisperCpp, device, half, stream, steps, fullWindow, workDir,
        };
        command.SetAction(parse =>
        {
            int threadCount = parse.GetValue(threads);
            if (threadCount < 1 || threadCount > Environment.ProcessorCount * 4)
                throw new OptionValueException("--threads", $"{threadCount} is outside 1..{Environment.ProcessorCount * 4}");
            if (parse.GetValue(tokens) is < 4 or > 200) throw new OptionValueException("--tokens", $"{parse.GetValue(tokens)} is outside 4..200");
            if (parse.GetValue(rounds) is < 1 or > 100) throw new OptionValueException("--rounds", $"{parse.GetValue(rounds)} is outside 1..100");
            var formats = parse.GetValue(weights)!.Select(w => Parse(() => WeightFormats.Parse(w), "--weights")).Distinct().ToArray();
            if (parse.GetValue(isa) is { } forced) KernelIsas.Force(Parse(() => KernelIsas.Require(KernelIsas.Parse(forced)), "--isa"));
            foreach (var size in parse.GetValue(sizes)!) Parse(() => Dimensions(size), "--size");
            var settings = new Settings(threadCount, parse.GetValue(tokens), parse.GetValue(rounds), formats, parse.GetValue(whisperCpp),
                parse.GetValue(device)!, parse.GetValue(half), parse.GetValue(stream), parse.GetValue(steps)!, parse.GetValue(fullWindow));
            string dir = parse.GetValue(workDir)?.FullName ?? Path.Combine(Path.GetTempPath(), $"wavfusion-bench-asr-{Environment.ProcessId}");
            Directory.CreateDirectory(dir);
            try
            {
                Run(parse.GetValue(sizes)!, settings, dir);
            }
            finally
            {
                if (parse.GetValue(workDir) is null) Directory.Delete(dir, recursive: true);
            }
            return 0;
        });
        return command;
    }

    private static T Parse<T>(Func<T> parse, string option)
    {
        try
        {
            return parse();
        }
        catch (Exception e) when (e is ArgumentException or PlatformNotSupportedException)
        {
            throw new OptionValueException(option, e.Message);
        }
    }

    private sealed record Settings(int Threads, int Tokens, int Rounds, WeightFormat[] Formats, bool WhisperCpp, string Device, bool Half,
        double StreamSeconds, double[] StreamSteps, bool StreamFullWindow);

    /// <summary>Published Whisper dimensions (openai-whisper ModelDimensions).</summary>
    internal static WhisperConfig Dimensions(string size)
    {
        var (d, heads, layers) = size switch
        {
            "tiny" => (384, 6, 4),
            "base" => (512, 8, 6),
            "small" => (768, 12, 12),
            _ => throw new ArgumentException($"unknown size '{size}' (tiny, base, small)"),
        };
        var config = new WhisperConfig
        {
            NumMelBins = 80, MaxSourcePositions = 1500, DModel = d,
            EncoderAttentionHeads = heads, EncoderLayers = layers, EncoderFfnDim = 4 * d,
            DecoderAttentionHeads = heads, DecoderLayers = layers, DecoderFfnDim = 4 * d,
            VocabSize = 51865, MaxTargetPositions = 448,
        };
        var special = WhisperSpecialTokens.ForVocabulary(config.VocabSize);
        config.DecoderStartTokenId = special.StartOfTranscript;
        config.EosTokenId = special.EndOfText;
        config.PadTokenId = special.EndOfText;
        return config;
    }

    private static void Run(string[] sizes, Settings settings, string dir)
    {
        torch.set_num_threads(settings.Threads);
        KernelThreads.UseSharedThreads(settings.Threads);
        bool cpu = settings.Device == "cpu";
        Console.WriteLine($"libtorch {torch.__version__}, device {settings.Device}, {settings.Threads} thread(s) (libtorch, our kernels{(settings.WhisperCpp && cpu ? ", whisper.cpp" : "")}), " +
                          $"{Environment.ProcessorCount} core(s), kernels {KernelIsas.Name(KernelIsas.Default)} (CPU best {KernelIsas.Name(KernelIsas.Best)}), OpenMP wait: {OpenMpWaitPolicy.Describe()}");
        Console.WriteLine($"CPU: {CpuDescription()}");
        Console.WriteLine($"each figure is the median of {settings.Rounds} round-robin rounds (every engine once per round), range in brackets");
        foreach (var size in sizes)
        {
            var config = Dimensions(size);
            if (!cpu)
            {
                RunDevice(size, config, settings);
                continue;
            }
            string f16Path = Path.Combine(dir, $"ggml-{size}-random-f16.bin");
            string q8Path = Path.Combine(dir, $"ggml-{size}-random-q8_0.bin");
            WriteRandomModel(config, f16Path, q8Path);
            Console.WriteLine($"whisper-{size} dimensions, random weights: {f16Path} ({new FileInfo(f16Path).Length / 1e6:F1} MB), Q8_0 copy ({new FileInfo(q8Path).Length / 1e6:F1} MB)");

            var engines = new List<IEngine>();
            try
            {
                foreach (var format in settings.Formats)
                {
                    long rss = Rss();
                    var engine = new OursEngine(f16Path, format, settings);
                    engines.Add(engine);
                    Console.WriteLine($"  ours {format.Name(),-5} from the F16 file: {TorchSharpAsrBackend.DescribeWeights(engine.Model)}; RSS +{(Rss() - rss) / 1e6:F0} MB");
                }
                if (settings.WhisperCpp)
                {
                    foreach (var (path, label) in new[] { (f16Path, "F16"), (q8Path, "Q8_0") })
                    {
                        long rss = Rss();
                        var engine = new WhisperCppEngine(path, label, settings, config);
                        engines.Add(engine);
                        Console.WriteLine($"  whisper.cpp {label} ({engine.Library}): RSS +{(Rss() - rss) / 1e6:F0} MB");
                    }
                }
                Measure(engines, settings);
            }
            finally
            {
                foreach (var e in engines) e.Dispose();
            }
        }
    }

    /// <summary>One random model (seed 0, end-of-text embedding zeroed), written as F16 and as Q8_0.</summary>
    internal static void WriteRandomModel(WhisperConfig config, string f16Path, string q8Path)
    {
        torch.manual_seed(0);
        using var model = new WhisperForConditionalGeneration(config);
        var state = model.state_dict();
        using (torch.no_grad()) state["model.decoder.embed_tokens.weight"][config.EosTokenId].zero_();
        var vocabulary = BenchStream.WordVocabulary(config.VocabSize);
        WhisperGgmlWriter.Write(f16Path, config, state, GgmlType.F16, vocabulary);
        WhisperGgmlWriter.Write(q8Path, config, state, GgmlType.Q8_0, vocabulary);
    }

    private static void Measure(List<IEngine> engines, Settings settings)
    {
        // Encoder: our encoder is float32 whatever the decoder holds, so one of ours is timed.
        var encoders = engines.Where((e, i) => e is WhisperCppEngine || i == 0).ToList();
        var encoder = RoundRobin(encoders, settings.Rounds, e => e.EncoderSeconds());
        var reference = engines.OfType<WhisperCppEngine>().FirstOrDefault();
        Console.WriteLine("  encoder, one 30 s window:");
        foreach (var e in encoders) Console.WriteLine($"    {Label(e, encoders[0]),-22} {Seconds(encoder[e])}{Ratio(encoder, e, reference)}");

        foreach (var (contextSeconds, label) in new[] { (30.0, "30 s audio context"), (10.0, "10 s audio context (streaming)") })
        {
            var perToken = RoundRobin(engines, settings.Rounds, e => e.MillisecondsPerToken(contextSeconds));
            Console.WriteLine($"  decoder per token, greedy, batch 1, {label}:");
            foreach (var e in engines) Console.WriteLine($"    {e.Name,-22} {Milliseconds(perToken[e])}{Ratio(perToken, e, reference)}");
        }

        if (settings.StreamSeconds <= 0) return;
        foreach (double step in settings.StreamSteps)
        {
            var results = new Dictionary<IEngine, List<BenchStream.Result>>();
            // Streams are long and the engines are warm by now: fewer rounds, no warm-up.
            var rtf = RoundRobin(engines, Math.Max(1, settings.Rounds / 2), e =>
            {
                var r = e.Stream(settings.StreamSeconds, step, fullWindow: false);
                (results.TryGetValue(e, out var list) ? list : results[e] = []).Add(r);
                return r.ComputeSeconds / r.AudioSeconds;
            }, warmup: false);
            Console.WriteLine($"  streaming, {settings.StreamSeconds:F0} s of speech, {step:F1} s steps, buffer-length encoder context:");
            foreach (var e in engines)
            {
                var last = results[e][^1];
                Console.WriteLine($"    {e.Name,-22} real-time factor {Values(rtf[e], "F2")}{Ratio(rtf, e, reference)}; {last.Steps} steps, mean buffer {last.MeanBufferSeconds:F1} s, {last.TokensPerStep:F1} tokens/step, slowest step {last.MaxStepSeconds:F2} s");
            }
            if (settings.StreamFullWindow)
            {
                foreach (var e in engines.OfType<OursEngine>())
                    Console.WriteLine($"    {e.Name} with 30 s windows: {e.Stream(settings.StreamSeconds, step, fullWindow: true)}");
            }
        }
    }

    private static string Label(IEngine e, IEngine first) => e is OursEngine ? "ours (float32 encoder)" : e.Name;

    /// <summary>Runs <paramref name="measure"/> for every engine once per round, engines in turn, after an untimed warm-up each.</summary>
    private static Dictionary<IEngine, List<double>> RoundRobin(List<IEngine> engines, int rounds, Func<IEngine, double> measure, bool warmup = true)
    {
        if (warmup) foreach (var e in engines) measure(e);
        var result = engines.ToDictionary(e => e, _ => new List<double>());
        for (int r = 0; r < rounds; r++)
            foreach (var e in engines) result[e].Add(measure(e));
        return result;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static string Values(List<double> values, string format) =>
        string.Create(CultureInfo.InvariantCulture, $"{Median(values).ToString(format, CultureInfo.InvariantCulture)} [{values.Min().ToString(format, CultureInfo.InvariantCulture)}-{values.Max().ToString(format, CultureInfo.InvariantCulture)}]");

    private static string Seconds(List<double> values) => Values(values, "F2") + " s";

    private static string Milliseconds(List<double> values) => Values(values, "F2") + " ms";

    private static string Ratio(Dictionary<IEngine, List<double>> values, IEngine e, IEngine? reference) =>
        reference is null || e == reference || !values.ContainsKey(reference) ? ""
        : string.Create(CultureInfo.InvariantCulture, $"   {Median(values[e]) / Median(values[reference]):F2}x {reference.Name}");

    private static long Rss() => Process.GetCurrentProcess().WorkingSet64;

    /// <summary>Model name and vector extensions from /proc/cpuinfo (what lscpu prints), so a figure says where it was measured.</summary>
    private static string CpuDescription()
    {
        try
        {
            var lines = File.ReadLines("/proc/cpuinfo").ToList();
            string model = lines.FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
            var flags = (lines.FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal))?.Split(':', 2)[1] ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
            string[] wanted = ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni"];
            return $"{model}; {string.Join(" ", wanted.Where(flags.Contains))}";
        }
        catch (IOException)
        {
            return "unknown (no /proc/cpuinfo)";
        }
    }

    /// <summary>The GPU path of the old benchmark: our float32 (or --half) model only.</summary>
    private static void RunDevice(string size, WhisperConfig config, Settings settings)
    {
        var device = torch.device(settings.Device);
        var dtype = settings.Half ? ScalarType.Float16 : ScalarType.Float32;
        torch.manual_seed(0);
        using var model = new WhisperForConditionalGeneration(config);
        model.eval();
        model.to(device, dtype);
        Console.WriteLine($"whisper-{size} dims (random weights) on {device}, {dtype}; whisper.cpp and packed weights are CPU-only");
        using var features = torch.randn([1, config.NumMelBins, 2 * config.MaxSourcePositions], dtype, device);
        var encoder = Core.Diagnostics.Measure.Time(() =>
        {
            using var _ = torch.inference_mode();
            using var scope = torch.NewDisposeScope();
            model.Encode(features).sum().item<float>();
        }, warmup: 1, minRuns: 3, minSeconds: 2);
        Console.WriteLine($"  encoder, one 30 s window: {encoder}");
        using var inference = torch.inference_mode();
        using var encoded = model.Encode(features);
        using var cache = model.CreateCache(encoded);
        long first = OursEngine.DecodePrompt(model, cache, device);
        var perToken = Core.Diagnostics.Measure.Time(() => OursEngine.DecodeTokens(model, cache, device, first, settings.Tokens), warmup: 1, minRuns: 3, minSeconds: 2);
        Console.WriteLine($"  decoder per token (greedy, batch 1): {perToken.Median * 1000 / settings.Tokens:F2} ms");
    }

    private interface IEngine : IDisposable
    {
        string Name { get; }
        double EncoderSeconds();
        double MillisecondsPerToken(double contextSeconds);
        BenchStream.Result Stream(double seconds, double step, bool fullWindow);
    }

    /// <summary>Our port, loaded from the ggml file with the decoder in one weight format.</summary>
    private sealed class OursEngine : IEngine
    {
        private static readonly long[] Prompt = [50258, 50259, 50359, 50363];
        private readonly Settings _settings;
        private readonly Tensor _features;
        private readonly Dictionary<double, (Tensor Encoded, WhisperKvCache Cache, long First)> _contexts = [];

        public OursEngine(string path, WeightFormat format, Settings settings)
        {
            _settings = settings;
            var (model, file) = WhisperGgmlFile.LoadModel(path, format);
            file.Dispose();
            model.eval();
            Model = model;
            Name = $"ours {format.Name()}";
            torch.manual_seed(1);
            _features = torch.randn([1, model.Config.NumMelBins, 2 * model.Config.MaxSourcePositions]).DetachFromDisposeScope();
        }

        public WhisperForConditionalGeneration Model { get; }
        public string Name { get; }

        public double EncoderSeconds()
        {
            using var _ = torch.inference_mode();
            using var scope = torch.NewDisposeScope();
            long start = Stopwatch.GetTimestamp();
            Model.Encode(_features).sum().item<float>();
            return Stopwatch.GetElapsedTime(start).TotalSeconds;
        }

        public double MillisecondsPerToken(double contextSeconds)
        {
            using var _ = torch.inference_mode();
            if (!_contexts.TryGetValue(contextSeconds, out var context))
            {
                long frames = (long)(contextSeconds * 100);
                var encoded = Model.Encode(_features.narrow(2, 0, frames)).DetachFromDisposeScope();
                var cache = Model.CreateCache(encoded);
                context = _contexts[contextSeconds] = (encoded, cache, DecodePrompt(Model, cache, torch.CPU));
            }
            long start = Stopwatch.GetTimestamp();
            DecodeTokens(Model, context.Cache, torch.CPU, context.First, _settings.Tokens);
            return Stopwatch.GetElapsedTime(start).TotalMilliseconds / _settings.Tokens;
        }

        public BenchStream.Result Stream(double seconds, double step, bool fullWindow) =>
            BenchStream.Run(Model, seconds, step, fullWindow ? 0 : Speech.Streaming.WhisperHypothesisSource.DefaultAudioContextRounding);

        /// <summary>Decodes the prompt into <paramref name="cache"/> and returns the first token it predicts.</summary>
        public static long DecodePrompt(WhisperForConditionalGeneration model, WhisperKvCache cache, Device device)
        {
            using var scope = torch.NewDisposeScope();
            var prompt = torch.tensor(Prompt, [1, Prompt.Length], device: device);
            return model.Decode(prompt, cache, Prompt.Length - 1)[0, -1].argmax().item<long>();
        }

        /// <summary>Greedy decoding of <paramref name="count"/> tokens after the prompt (the cache is rewound to it first).</summary>
        public static void DecodeTokens(WhisperForConditionalGeneration model, WhisperKvCache cache, Device device, long first, int count)
        {
            cache.Rewind(Prompt.Length);
            long next = first;
            for (int i = 0; i < count; i++)
            {
                using var step = torch.NewDisposeScope();
                var logits = model.Decode(torch.tensor(new[] { next }, [1, 1], device: device), cache);
                next = logits[0, -1].argmax().item<long>();
            }
        }

        public void Dispose()
        {
            foreach (var (encoded, cache, _) in _contexts.Values)
            {
                cache.Dispose();
                encoded.Dispose();
            }
            _features.Dispose();
            Model.Dispose();
        }
    }

    /// <summary>whisper.cpp through Whisper.net on one ggml file.</summary>
    private sealed class WhisperCppEngine : IEngine
    {
        private const int FewTokens = 2;
        private readonly WhisperCppRunner _runner;
        private readonly Settings _settings;
        private readonly float[] _audio;
        private double _lastPerToken = double.NaN;

        public WhisperCppEngine(string path, string label, Settings settings, WhisperConfig config)
        {
            _settings = settings;
            _runner = new WhisperCppRunner(path, settings.Threads, config);
            Name = $"whisper.cpp {label}";
            // Speech-like noise: whisper.cpp's mel of silence would be no cheaper, but keep both engines on the same kind of input.
            _audio = BenchStream.SpeechSamples(30.0);
        }

        public string Name { get; }
        public string Library => _runner.Library;

        public double EncoderSeconds()
        {
            var few = _runner.Run(_audio, FewTokens, audioContext: 0, prompt: null);
            double perToken = double.IsNaN(_lastPerToken) ? MillisecondsPerToken(30.0) / 1000 : _lastPerToken / 1000;
            // After the encoder-begin callback: the encoder, then the prompt (about one step) and the tokens.
            return few.Seconds - few.EncoderBeginSeconds - (few.Tokens + 1) * perToken;
        }

        public double MillisecondsPerToken(double contextSeconds)
        {
            int samples = (int)(contextSeconds * WhisperAudio.SampleRate);
            var audio = _audio.AsSpan(0, samples).ToArray();
            int context = contextSeconds >= 30 ? 0 : (int)(contextSeconds * 50);
            var few = _runner.Run(audio, FewTokens, context, prompt: null);
            var many = _runner.Run(audio, FewTokens + _settings.Tokens, context, prompt: null);
            if (many.Tokens <= few.Tokens)
                throw new InvalidOperationException($"{Name}: decoded {many.Tokens} tokens with a budget of {FewTokens + _settings.Tokens}, no more than {few.Tokens}");
            double ms = (many.Seconds - few.Seconds) * 1000 / (many.Tokens - few.Tokens);
            if (contextSeconds >= 30) _lastPerToken = ms;
            return ms;
        }

        public BenchStream.Result Stream(double seconds, double step, bool fullWindow) => BenchStream.RunWhisperCpp(_runner, seconds, step);

        public void Dispose() => _runner.Dispose();
    }
}
