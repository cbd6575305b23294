using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using WavFusion.Core.Audio;
using WavFusion.Inference;
using WavFusion.Media;

namespace WavFusion.Cli.Commands;

/// <summary>
/// `wavfusion demo`: the model over sliding windows of a speech file, printing each window's scores and
/// latency: a thin loop over the inference layer's <see cref="WindowScorer"/> with the bundled demo model
/// (models/wavfusion-demo) or the model folder given.
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

        string folder = modelDir?.FullName ?? Path.Combine(ProductPaths.Models, "wavfusion-demo");
        using var bundle = ModelBundle.Load(folder);
        int minimum = bundle.MinimumSamples;
        if (window < minimum)
            throw new OptionValueException("--window", Invariant($"{windowSeconds} s is {window} samples; the model needs at least {minimum} ({minimum / (double)AudioChunk.SampleRate:0.####} s)"));
        if (transcript is not null && bundle.TextEncoder is null)
            throw new OptionValueException("--transcript", $"the model in {bundle.Folder} has no {ModelBundle.TextEncoderFolder}/ to encode text with");
        var clip = AudioFile.Load(audioPath, AudioChunk.SampleRate).Require(AudioChunk.SampleRate, audioPath);
        var scorer = new WindowScorer(bundle, maxBatch: 1);

        Console.WriteLine($"model   {bundle.Folder} (version {bundle.ModelVersion}, labels {string.Join(", ", bundle.Labels)})");
        if (bundle.IsDemoModel)
            Console.WriteLine("        DEMO MODEL: trained on synthetic SynthEmo data only; its scores say nothing about real emotions");
        Console.WriteLine(transcript is null
            ? $"audio   {audioPath} ({clip.DurationSeconds:F1} s); modalities: audio (pass --transcript TEXT to fuse text; no camera in this demo)"
            : $"audio   {audioPath} ({clip.DurationSeconds:F1} s); modalities: audio + text (\"{transcript}\")");
        Console.WriteLine(Invariant($"windows {windowSeconds:0.##} s, hop {hopSeconds:0.##} s; libtorch {torch.__version__}, {torch.get_num_threads()} thread(s)"));

        var latencies = new List<double>();
        long scored = 0;
        foreach (var (start, length) in SlidingWindows.Over(clip.Samples.Length, window, hop, minimum))
        {
            var watch = Stopwatch.StartNew();
            var score = scorer.Score([new ScoringWindow(clip.Samples.AsSpan(start, length).ToArray(), transcript)])[0];
            latencies.Add(watch.Elapsed.TotalMilliseconds);
            scored += length;
            var scores = string.Join("  ", score.Labels.Select((l, i) => Invariant($"{l} {score.Probabilities[i]:0.00}")));
            Console.WriteLine(Invariant(
                $"{start / (double)clip.SampleRate,6:F1}-{(start + length) / (double)clip.SampleRate,5:F1} s  {score.TopLabel,-10} {scores}  ({latencies[^1]:F0} ms)"));
        }
        if (latencies.Count == 0)
            throw new InvalidDataException($"{audioPath}: shorter than one model frame ({minimum} samples)");
        // The last window may be shorter than --window, so the factor divides by the audio actually scored.
        double realTimeFactor = latencies.Sum() / 1000 / (scored / (double)clip.SampleRate);
        latencies.Sort();
        Console.WriteLine(Invariant(
            $"{latencies.Count} windows, median latency {latencies[latencies.Count / 2]:F0} ms per {windowSeconds:0.##} s window (real-time factor {realTimeFactor:F3})"));
        return 0;
    }

    /// <summary>A window or hop length in samples at the model's rate, or an error naming the option and its bounds.</summary>
    private static int Samples(string option, double seconds)
    {
        if (!double.IsFinite(seconds) || seconds <= 0 || seconds > MaxSeconds)
            throw new OptionValueException(option, Invariant($"{seconds} is not a length in seconds between 0 and {MaxSeconds}"));
        int samples = (int)Math.Round(seconds * AudioChunk.SampleRate);
        if (samples < 1)
            throw new OptionValueException(option, Invariant($"{seconds} s is less than one sample at {AudioChunk.SampleRate} Hz"));
        return samples;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
