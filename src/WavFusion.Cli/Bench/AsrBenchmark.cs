using System.CommandLine;
using System.Diagnostics;
using TorchSharp;
using WavFusion.Core.Diagnostics;
using WavFusion.Core.Runtime;
using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Decoding;
using WavFusion.Speech.Streaming;
using static TorchSharp.torch;

namespace WavFusion.Cli.Bench;

/// <summary>
/// `wavfusion bench asr`: Whisper encoder time per 30 s window and decoder time per token at tiny and
/// base dimensions with random weights, and the streaming real-time factor those imply.
/// </summary>
internal static class AsrBenchmark
{
    public static Command CreateCommand()
    {
        var sizes = new Option<string[]>("--size") { Description = "model dimensions to time: tiny, base, small", DefaultValueFactory = _ => ["tiny", "base"], AllowMultipleArgumentsPerToken = true };
        var threads = new Option<int>("--threads") { Description = "CPU threads for libtorch", DefaultValueFactory = _ => Environment.ProcessorCount };
        var seconds = new Option<double>("--seconds") { Description = "minimum timed seconds per measurement", DefaultValueFactory = _ => 3.0 };
        var tokens = new Option<int>("--tokens") { Description = "tokens decoded per timed run", DefaultValueFactory = _ => 64 };
        var device = new Option<string>("--device") { Description = "cpu or cuda", DefaultValueFactory = _ => "cpu" };
        var half = new Option<bool>("--half") { Description = "float16 weights and activations (GPU)" };
        var stream = new Option<double>("--stream-seconds") { Description = "length of the simulated speech stream for the streaming real-time factor (0 skips it)", DefaultValueFactory = _ => 40.0 };
        var steps = new Option<double[]>("--stream-step") { Description = "streaming step(s) in seconds (new audio per re-transcription)", DefaultValueFactory = _ => [1.0, 2.0], AllowMultipleArgumentsPerToken = true };
        var fullWindow = new Option<bool>("--stream-full-window") { Description = "also time streaming with every buffer encoded as a padded 30 s window" };
        var command = new Command("asr", "Time the Whisper encoder per 30 s window, the decoder per token and streaming (random weights)") { sizes, threads, seconds, tokens, device, half, stream, steps, fullWindow };
        command.SetAction(parse =>
        {
            var streaming = new StreamBench(parse.GetValue(stream), parse.GetValue(steps)!, parse.GetValue(fullWindow));
            Run(parse.GetValue(sizes)!, parse.GetValue(threads), parse.GetValue(seconds), parse.GetValue(tokens), parse.GetValue(device)!, parse.GetValue(half), streaming);
            return 0;
        });
        return command;
    }

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
        return new WhisperConfig
        {
            NumMelBins = 80, MaxSourcePositions = 1500, DModel = d,
            EncoderAttentionHeads = heads, EncoderLayers = layers, EncoderFfnDim = 4 * d,
            DecoderAttentionHeads = heads, DecoderLayers = layers, DecoderFfnDim = 4 * d,
            VocabSize = 51865, MaxTargetPositions = 448,
        };
    }

    private sealed record StreamBench(double Seconds, double[] Steps, bool FullWindow);

    private static void Run(string[] sizes, int threads, double minSeconds, int tokens, string deviceName, bool half, StreamBench streaming)
    {
        torch.set_num_threads(threads);
        var device = torch.device(deviceName);
        var dtype = half ? ScalarType.Float16 : ScalarType.Float32;
        Console.WriteLine($"libtorch {torch.__version__}, device {device}, {dtype}, {threads} thread(s), {Environment.ProcessorCount} core(s), OpenMP wait: {OpenMpWaitPolicy.Describe()}");
        // Decoding runs some 150 small operators per token: how long libtorch's OpenMP threads spin between them
        // (OpenMpWaitPolicy, chosen before libtorch loads) moves this figure a lot, so the header prints the policy.
        foreach (var size in sizes)
        {
            var config = Dimensions(size);
            torch.manual_seed(0);
            using var model = new WhisperForConditionalGeneration(config);
            model.eval();
            model.to(device, dtype);
            long parameters = model.parameters().Sum(p => p.numel());
            Console.WriteLine($"whisper-{size} dims (random weights): {parameters:N0} parameters");

            using var features = torch.randn([1, config.NumMelBins, 2 * config.MaxSourcePositions], dtype, device);
            var encoder = Measure.Time(() =>
            {
                using var _ = torch.inference_mode();
                using var scope = torch.NewDisposeScope();
                model.Encode(features).sum().item<float>();
            }, warmup: 1, minRuns: 3, minSeconds: minSeconds);
            Console.WriteLine($"  encoder, one 30 s window:  {encoder}");

            using var inference = torch.inference_mode();
            using var encoded = model.Encode(features);
            var crossCache = Measure.Time(() =>
            {
                using var cache = model.CreateCache(encoded);
            }, warmup: 1, minRuns: 3, minSeconds: 0.5);
            // One cache for all runs, rewound to the prompt: the cross-attention keys/values are timed above, once per window.
            using var cache = model.CreateCache(encoded);
            long first = DecodePrompt(model, cache, device);
            var perToken = Measure.Time(() => DecodeTokens(model, cache, device, first, tokens), warmup: 1, minRuns: 3, minSeconds: minSeconds);
            double msPerToken = perToken.Median * 1000 / tokens;
            Console.WriteLine($"  decoder, per token (greedy, batch 1, KV cache, {tokens} tokens): {msPerToken:F2} ms  (cross-attention K/V once per window: {crossCache.Median * 1000:F1} ms)");

            // Streaming encodes about 10 s of audio, so each token's cross-attention reads a third of the keys/values.
            using (var encodedShort = model.Encode(features.narrow(2, 0, 2 * config.MaxSourcePositions / 3)))
            using (var shortCache = model.CreateCache(encodedShort))
            {
                long firstShort = DecodePrompt(model, shortCache, device);
                var perTokenShort = Measure.Time(() => DecodeTokens(model, shortCache, device, firstShort, tokens), warmup: 1, minRuns: 3, minSeconds: minSeconds);
                Console.WriteLine($"  decoder, per token with a 10 s audio context (streaming): {perTokenShort.Median * 1000 / tokens:F2} ms");
            }

            if (streaming.Seconds <= 0) continue;
            var rounding = streaming.FullWindow ? new[] { WhisperHypothesisSource.DefaultAudioContextRounding, 0 } : [WhisperHypothesisSource.DefaultAudioContextRounding];
            foreach (double step in streaming.Steps)
            {
                foreach (int r in rounding)
                {
                    var run = BenchStream.Run(model, streaming.Seconds, step, r);
                    string context = r == 0 ? "30 s windows" : $"buffer-length encoder (rounded to {r} frames)";
                    Console.WriteLine($"  streaming, {streaming.Seconds:F0} s of speech, {step:F1} s steps, {context}: {run}");
                }
            }
        }
    }

    private static readonly long[] Prompt = [50258, 50259, 50359, 50363];

    /// <summary>Decodes the prompt into <paramref name="cache"/> and returns the first token it predicts.</summary>
    private static long DecodePrompt(WhisperForConditionalGeneration model, WhisperKvCache cache, Device device)
    {
        using var scope = torch.NewDisposeScope();
        var prompt = torch.tensor(Prompt, [1, Prompt.Length], device: device);
        return model.Decode(prompt, cache, Prompt.Length - 1)[0, -1].argmax().item<long>();
    }

    private static void DecodeTokens(WhisperForConditionalGeneration model, WhisperKvCache cache, Device device, long first, int count)
    {
        cache.Rewind(Prompt.Length);
        long next = first;
        for (int i = 0; i < count; i++)
        {
            using var step = torch.NewDisposeScope();
            var logits = model.Decode(torch.tensor(new[] { next }, [1, 1], device: device), cache);
            next = logits[0, -1].argmax().item<long>();
        }
        Debug.Assert(cache.Length == Prompt.Length + count);
    }
}
