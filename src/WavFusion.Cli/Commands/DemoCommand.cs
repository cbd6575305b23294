using WavFusion.Inference.Encoders;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using WavFusion.Core.Audio;
using WavFusion.Models.Fusion;
using WavFusion.Models.Wav2Vec2;
using WavFusion.Training.Features;
using WavFusion.Training.Recipes;
using static TorchSharp.torch;
using WavFusion.Models.Layers;

namespace WavFusion.Cli.Commands;

/// <summary>
/// `wavfusion demo`: the model over sliding windows of a speech file, printing each window's scores and
/// latency. Uses the bundled demo model (models/wavfusion-demo) when present, else an untrained model of
/// the demo size, and says which.
/// </summary>
internal static class DemoCommand
{
    /// <summary>Bound on --window and --hop: ten minutes is far beyond any utterance and keeps sample counts in an int.</summary>
    private const double MaxSeconds = 600;

    public static Command Create()
    {
        var audio = new Option<FileInfo?>("--audio") { Description = "speech file (any format ffmpeg reads); default the bundled samples/jfk.flac" };
        var model = new Option<DirectoryInfo?>("--model") { Description = "a WavFusion checkpoint folder; default the bundled demo model" };
        var window = new Option<double>("--window") { Description = "window length in seconds", DefaultValueFactory = _ => 4.0 };
        var hop = new Option<double>("--hop") { Description = "hop between windows in seconds", DefaultValueFactory = _ => 1.0 };
        var transcript = new Option<string?>("--transcript")
        {
            Description = "what is said: fused as the text modality through the model's text encoder (the checkpoint folder's text-encoder/)",
        };
        var command = new Command("demo", "Run the emotion model over sliding windows of a speech file") { audio, model, window, hop, transcript };
        command.SetAction(parse => Run(parse.GetValue(audio), parse.GetValue(model), parse.GetValue(window), parse.GetValue(hop), parse.GetValue(transcript)));
        return command;
    }

    private static int Run(FileInfo? audioFile, DirectoryInfo? modelDir, double windowSeconds, double hopSeconds, string? transcript)
    {
        int window = Samples("--window", windowSeconds);
        int hop = Samples("--hop", hopSeconds);
        if (transcript is not null && string.IsNullOrWhiteSpace(transcript))
            throw new OptionValueException("--transcript", "is empty; pass what is said, or leave the option out to score the audio alone");
        string audioPath = audioFile?.FullName ?? ProductPaths.SampleSpeech;
        if (!File.Exists(audioPath))
        {
            Console.Error.WriteLine($"error: {audioPath}: audio file not found (pass --audio FILE)");
            return 2;
        }

        var (wavfusion, description, folder) = LoadModel(modelDir);
        using (wavfusion)
        {
            int minimum = wavfusion.Config.Audio.ReceptiveField;
            if (window < minimum)
                throw new OptionValueException("--window", Invariant($"{windowSeconds} s is {window} samples; the model needs at least {minimum} ({minimum / (double)Wav2Vec2Config.SamplingRate:0.####} s)"));
            var clip = AudioFile.Load(audioPath, Wav2Vec2Config.SamplingRate).Require(Wav2Vec2Config.SamplingRate, audioPath);
            using var text = transcript is null ? null : EncodeTranscript(folder, transcript, wavfusion.Config.TextDim);
            if (transcript is not null && text is null) return 2;
            Console.WriteLine($"model   {description}");
            Console.WriteLine(text is null
                ? $"audio   {audioPath} ({clip.DurationSeconds:F1} s); modalities: audio (pass --transcript TEXT to fuse text; no camera in this demo)"
                : $"audio   {audioPath} ({clip.DurationSeconds:F1} s); modalities: audio + text ({text.shape[1]} tokens of \"{transcript}\")");
            Console.WriteLine($"windows {windowSeconds:0.##} s, hop {hopSeconds:0.##} s; libtorch {torch.__version__}, {torch.get_num_threads()} thread(s)");

            var labels = wavfusion.Config.LabelNames;
            var extractor = new Wav2Vec2FeatureExtractor();
            var latencies = new List<double>();
            long processed = 0;
            for (int start = 0; start < clip.Samples.Length; start += hop)
            {
                int length = Math.Min(window, clip.Samples.Length - start);
                if (length < minimum) break;
                var samples = clip.Samples.AsSpan(start, length).ToArray();
                var watch = Stopwatch.StartNew();
                float[] probabilities;
                using (torch.inference_mode())
                using (torch.NewDisposeScope())
                {
                    var input = extractor.Normalize(samples);
                    var output = wavfusion.forward(WavFusionInput.FromAudio(input, null, text is null ? null : new ModalitySequence(text)));
                    probabilities = output.Probabilities[0].data<float>().ToArray();
                }
                latencies.Add(watch.Elapsed.TotalMilliseconds);
                processed += length;
                int top = Array.IndexOf(probabilities, probabilities.Max());
                var scores = string.Join("  ", labels.Select((l, i) => string.Create(CultureInfo.InvariantCulture, $"{l} {probabilities[i]:0.00}")));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{start / (double)clip.SampleRate,6:F1}-{(start + length) / (double)clip.SampleRate,5:F1} s  {labels[top],-10} {scores}  ({latencies[^1]:F0} ms)"));
                if (start + length >= clip.Samples.Length) break;
            }
            if (latencies.Count == 0)
            {
                Console.Error.WriteLine($"error: {audioPath}: shorter than one model frame ({minimum} samples)");
                return 2;
            }
            // The last window may be shorter than --window, so the factor divides by the audio actually scored.
            double realTimeFactor = latencies.Sum() / 1000 / (processed / (double)clip.SampleRate);
            latencies.Sort();
            Console.WriteLine(Invariant(
                $"{latencies.Count} windows, median latency {latencies[latencies.Count / 2]:F0} ms per {windowSeconds:0.##} s window (real-time factor {realTimeFactor:F3})"));
        }
        return 0;
    }

    /// <summary>A window or hop length in samples at the model's rate, or an error naming the option and its bounds.</summary>
    private static int Samples(string option, double seconds)
    {
        if (!double.IsFinite(seconds) || seconds <= 0 || seconds > MaxSeconds)
            throw new OptionValueException(option, Invariant($"{seconds} is not a length in seconds between 0 and {MaxSeconds}"));
        int samples = (int)Math.Round(seconds * Wav2Vec2Config.SamplingRate);
        if (samples < 1)
            throw new OptionValueException(option, Invariant($"{seconds} s is less than one sample at {Wav2Vec2Config.SamplingRate} Hz"));
        return samples;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>(1, tokens, text_dim) features of the transcript, or null after printing why they cannot be made.</summary>
    private static Tensor? EncodeTranscript(string? folder, string transcript, int textDim)
    {
        string? encoderFolder = folder is null ? null : Path.Combine(folder, DemoEncoders.TextFolder);
        if (encoderFolder is null || !Directory.Exists(encoderFolder))
        {
            Console.Error.WriteLine($"error: --transcript needs the model's text encoder in {encoderFolder ?? "<checkpoint folder>/" + DemoEncoders.TextFolder}");
            return null;
        }
        using var encoder = FeatureEncoderLoader.LoadText(encoderFolder);
        if (encoder.Dim != textDim)
        {
            Console.Error.WriteLine($"error: {encoderFolder}: the text encoder is {encoder.Dim}-wide, the model expects text_dim {textDim}");
            return null;
        }
        using var features = encoder.Encode(transcript);
        return features.unsqueeze(0);
    }

    private static (WavFusionModel Model, string Description, string? Folder) LoadModel(DirectoryInfo? modelDir)
    {
        string folder = modelDir?.FullName ?? Path.Combine(ProductPaths.Models, "wavfusion-demo");
        if (modelDir is not null || File.Exists(Path.Combine(folder, "checkpoint.json")))
        {
            var (model, manifest) = WavFusionCheckpoint.Load(folder);
            string demo = manifest.ModelVersion.StartsWith("synthemo-demo", StringComparison.Ordinal)
                ? "\n        DEMO MODEL: trained on synthetic SynthEmo data only; its scores say nothing about real emotions"
                : "";
            return (model, $"{folder} (version {manifest.ModelVersion}, labels {string.Join(", ", manifest.Labels)}){demo}", folder);
        }
        var config = WavFusionConfig.Load(ProductPaths.Config("wavfusion-demo.json"));
        torch.manual_seed(0);
        var untrained = new WavFusionModel(config);
        untrained.eval();
        return (untrained, "UNTRAINED demo-size WavFusion (random weights; scores are not meaningful) — no bundled model in models/wavfusion-demo", null);
    }
}
