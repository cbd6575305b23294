using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using WavFusion.Core.Audio;
using WavFusion.Core.Diagnostics;
using WavFusion.Inference.Encoders;
using WavFusion.Models.Text;
using WavFusion.Training.Cache;
using WavFusion.Training.Classifiers;
using WavFusion.Training.Data;
using WavFusion.Training.Experiments;
using WavFusion.Training.Features;
using WavFusion.Training.Recipes;
using WavFusion.Training.SynthEmo;
using WavFusion.Training.Trainer;

namespace WavFusion.Cli.Bench;

/// <summary>
/// `wavfusion bench train`: what <c>wavfusion train</c> spends on featurising and on a training epoch, measured on the
/// product's own code paths so that the figures are those of a real run. The size's experiment config
/// (<c>config/experiments/wavfusion-base.json</c> or <c>synthemo-demo.json</c>) gives the model, the video sampling
/// and the trainer options. Synthetic utterances are written as real files (16-bit WAV, PNG face strips and a
/// SynthEmo manifest) and read back by the product's corpus reader; the frozen text and image encoders are loaded
/// from model folders by <see cref="FeatureEncoderLoader"/> (the demo size uses the bundled demo model's; the base
/// size writes a random-init RoBERTa-base and EfficientNet-B0 in the Hugging Face layout first, since no pretrained
/// weights ship). <see cref="ItemFeaturizer"/> then prepares the items as <see cref="ExperimentRunner.Prepare"/> does:
/// without a cache (features computed once and kept in memory), filling the <see cref="FeatureCache"/>, and with it
/// warm. Epochs run through <see cref="TrainingLoop"/>, the loop <see cref="EmotionClassifierTrainer"/> runs each
/// epoch (its validation and checkpoints are not timed), with the classifier <see cref="ExperimentModels.Build"/>
/// makes and its collator: with the cache off the wav2vec2 CNN + shallow layers run and the WAV files are decoded
/// every epoch; one epoch fills the cache, then epochs with the cache off and warm alternate, so that load from other
/// processes on a shared machine falls on both alike; medians are reported.
/// </summary>
internal static class TrainBenchmark
{
    /// <summary>Spoken words per second of the synthetic transcripts (conversational speech).</summary>
    private const double WordsPerSecond = 3;

    public static Command CreateCommand()
    {
        var size = new Option<string>("--size") { Description = "model size: base (config/experiments/wavfusion-base.json, the paper's) or demo (synthemo-demo.json)", DefaultValueFactory = _ => "base" };
        var utterances = new Option<int>("--utterances") { Description = "synthetic utterances per epoch", DefaultValueFactory = _ => 16 };
        var seconds = new Option<double>("--seconds") { Description = "length of each utterance", DefaultValueFactory = _ => 3.0 };
        var batchSize = new Option<int>("--batch-size") { Description = "utterances per optimiser step (the experiments' default)", DefaultValueFactory = _ => 8 };
        var threads = new Option<int>("--threads") { Description = "CPU threads for libtorch", DefaultValueFactory = _ => Environment.ProcessorCount };
        var repeats = new Option<int>("--repeats") { Description = "alternating cache-off / warm-cache epoch pairs to take the median of", DefaultValueFactory = _ => 3 };
        var workDir = new Option<DirectoryInfo?>("--work-dir")
        {
            Description = "keep the generated corpus, encoders and feature cache in this (new or empty) folder instead of a temporary one",
        };
        var command = new Command("train", "Time featurising and a training epoch with the feature cache off, filling and warm (the product's featurizer and training loop; random weights, synthetic data)")
            { size, utterances, seconds, batchSize, threads, repeats, workDir };
        command.SetAction(parse => Run(parse.GetValue(size)!, parse.GetValue(utterances), parse.GetValue(seconds), parse.GetValue(batchSize),
            parse.GetValue(threads), parse.GetValue(repeats), parse.GetValue(workDir)?.FullName));
        return command;
    }

    private static int Run(string size, int count, double seconds, int batchSize, int threads, int repeats, string? workDir)
    {
        string? problem = size is not ("base" or "demo") ? $"--size must be base or demo; got '{size}'"
            : count < 1 ? $"--utterances must be at least 1; got {count}"
            : batchSize < 1 ? $"--batch-size must be at least 1; got {batchSize}"
            : !(seconds >= 0.5) || seconds > 600 ? $"--seconds must be between 0.5 and 600; got {seconds}"
            : threads < 1 ? $"--threads must be at least 1; got {threads}"
            : repeats < 1 ? $"--repeats must be at least 1; got {repeats}"
            : workDir is not null && Directory.Exists(workDir) && Directory.EnumerateFileSystemEntries(workDir).Any()
                ? $"--work-dir: {workDir} is not empty (a warm cache from an earlier run would hide the filling epoch)"
            : null;
        if (problem is not null)
        {
            Console.Error.WriteLine($"error: {problem}");
            return 2;
        }
        torch.set_num_threads(threads);
        string experimentFile = ProductPaths.Config(Path.Combine("experiments", size == "base" ? "wavfusion-base.json" : "synthemo-demo.json"));
        var experiment = ExperimentRunner.Load(experimentFile);
        string work = workDir is null ? Directory.CreateTempSubdirectory("wavfusion-bench-train-").FullName : Directory.CreateDirectory(workDir).FullName;
        try
        {
            Bench(size, experiment, work, count, seconds, batchSize, threads, repeats);
            if (workDir is not null) Console.WriteLine($"kept in {work}: corpus/, {(size == "base" ? "encoders/, " : "")}feature-cache/");
        }
        finally
        {
            if (workDir is null) Directory.Delete(work, recursive: true);
        }
        return 0;
    }

    private static void Bench(string size, ExperimentConfig experiment, string work, int count, double seconds, int batchSize, int threads, int repeats)
    {
        Console.WriteLine($"libtorch {torch.__version__}, {threads} thread(s), {Environment.ProcessorCount} core(s), OpenMP wait: {WavFusion.Core.Runtime.OpenMpWaitPolicy.Describe()}");
        var clock = Stopwatch.StartNew();
        string corpusDir = Path.Combine(work, "corpus");
        var written = WriteCorpus(corpusDir, experiment, count, seconds);
        Console.WriteLine($"{count} utterances of {seconds:F1} s written to {corpusDir} (16-bit WAV, {written.FramesPerItem} face frames of "
            + $"{experiment.Video.Size}x{experiment.Video.Size} in a PNG strip, SynthEmo manifest) in {clock.Elapsed.TotalSeconds:F1} s");

        int configuredEpochs = experiment.Training.Epochs;
        var encoders = size == "base"
            ? WriteBaseEncoders(Path.Combine(work, "encoders"), written)
            : experiment.Encoders;
        if (encoders.Text is null || encoders.Visual is null)
            throw new InvalidOperationException($"{experiment.SourcePath}: encoders.text and encoders.visual are needed to featurise");
        experiment = experiment with
        {
            Encoders = encoders with { Wav2Vec2 = null },
            Data = new DataSpec(CorpusKind.SynthEmo, corpusDir, DataSpec.SynthEmoManifest, null),
            Training = experiment.Training with
            {
                BatchSize = batchSize,
                // The schedule's length only: warm-up, then decay over every epoch the bench runs.
                Epochs = 2 + 2 * repeats,
                OutputDir = Path.Combine(work, "run"),
                FeatureCacheDir = Path.Combine(work, "feature-cache"),
                UseFeatureCache = true,
            },
        };
        var corpus = ExperimentRunner.LoadCorpus(experiment);

        clock.Restart();
        using var text = FeatureEncoderLoader.LoadText(encoders.Text);
        using var visual = FeatureEncoderLoader.LoadVisual(encoders.Visual);
        Console.WriteLine($"frozen encoders {(size == "base" ? "(random weights) " : "")}loaded and hashed in {clock.Elapsed.TotalSeconds:F1} s: "
            + $"text {Describe(encoders.Text)} ({text.Dim}-d), visual {Describe(encoders.Visual)} ({visual.Dim}-d, {visual.InputSize}x{visual.InputSize} input)");

        // Featurising as ExperimentRunner.Prepare does it, once per cache state.
        var modalities = experiment.Modalities.ToHashSet();
        var cache = new FeatureCache(experiment.Training.EffectiveFeatureCacheDir);
        // One untimed utterance first, so libtorch's first-call allocations are charged to no pass.
        foreach (var item in Featurise(new ItemFeaturizer(text, visual, null, experiment.Video), corpus.Items.Take(1).ToArray(), modalities))
        {
            item.Text?.Dispose();
            item.Visual?.Dispose();
        }
        var (kept, keptTime) = Timed(() => Featurise(new ItemFeaturizer(text, visual, null, experiment.Video), corpus.Items, modalities));
        var (_, fillTime) = Timed(() => Featurise(new ItemFeaturizer(text, visual, cache, experiment.Video), corpus.Items, modalities));
        var (cached, warmTime) = Timed(() => Featurise(new ItemFeaturizer(text, visual, cache, experiment.Video), corpus.Items, modalities));
        Console.WriteLine($"featurising (ItemFeaturizer: transcripts through the text encoder, face strips decoded, sampled at "
            + $"{experiment.Video.FramesPerSecond:0.#} fps and through the image encoder; {Mean(kept, i => i.Text):F1} tokens, {Mean(kept, i => i.Visual):F1} frames an utterance):");
        ReportFeaturising("no cache", keptTime, count, "encoded once a run, kept in memory");
        ReportFeaturising("cache filling", fillTime, count, "encoded and written");
        ReportFeaturising("cache warm", warmTime, count, "only checked; epochs read them");

        torch.manual_seed(experiment.Training.Seed);
        using var classifier = ExperimentModels.Build(experiment, loadPretrained: false);
        var config = ExperimentModels.WavFusionConfigOf(experiment.ModelConfig, null);
        long trainable = classifier.TrainableParameters().Sum(p => p.Parameter.numel()), all = classifier.Module.parameters().Sum(p => p.numel());
        Console.WriteLine($"WavFusion {size} ({Path.GetFileName(experiment.SourcePath)}, random weights): {all:N0} parameters, {trainable:N0} trained; "
            + $"{config.ShallowLayers} frozen shallow + {config.DeepLayers} deep layers; batch size {batchSize}");

        using var loop = new TrainingLoop(classifier, experiment.Training, count);
        // The trainer's collators: no cache, or the run's (the featurizer's folder, where the shallow audio goes too).
        var uncached = classifier.CreateCollator(null);
        var withCache = classifier.CreateCollator(cache);
        // One untimed step, so libtorch's first-call allocations are charged to no epoch.
        Epoch(loop, uncached, kept.Take(Math.Min(batchSize, count)).ToArray());

        Console.WriteLine("training epochs (TrainingLoop, the trainer's epoch: collate, forward, backward, AdamW step):");
        var filling = Epoch(loop, withCache, cached);
        ReportEpoch("cache filling", [filling], count);
        var off = new List<(double Wall, double Cpu)>();
        var warm = new List<(double Wall, double Cpu)>();
        for (int r = 0; r < repeats; r++)
        {
            off.Add(Epoch(loop, uncached, kept));
            warm.Add(Epoch(loop, withCache, cached));
        }
        ReportEpoch("cache off", off, count);
        ReportEpoch("cache warm", warm, count);
        var stats = cache.Stats;
        double offWall = Median(off, e => e.Wall), warmWall = Median(warm, e => e.Wall);
        Console.WriteLine($"speed-up of a warm-cache epoch over no cache: {offWall / warmWall:F2}x wall, "
            + $"{Median(off, e => e.Cpu) / Median(warm, e => e.Cpu):F2}x CPU time (medians of {repeats})"
            + $"  (cache: {stats.Hits} hits, {stats.Misses} misses, {DirectorySize(cache.Root) / 1e6:F1} MB)");
        int epochs = configuredEpochs;
        Console.WriteLine($"a {epochs}-epoch run of these utterances (the experiment's epochs; featurising + training epochs, without validation and checkpoints): "
            + $"no cache {keptTime.Wall + epochs * offWall:F1} s, first run with the cache {fillTime.Wall + filling.Wall + (epochs - 1) * warmWall:F1} s, "
            + $"later runs {warmTime.Wall + epochs * warmWall:F1} s");
        Console.WriteLine($"peak resident memory {ProcessMemory.PeakRssBytes() / 1048576.0:F0} MiB");
    }

    /// <summary>What the synthetic corpus gives the encoders that the base size writes: its transcripts and some of its face frames.</summary>
    private sealed record WrittenCorpus(IReadOnlyList<string> Transcripts, IReadOnlyList<byte[]> SomeFrames, int FrameSize, int FramesPerItem);

    /// <summary>
    /// <paramref name="count"/> utterances as a SynthEmo corpus under <paramref name="dir"/>: a voiced tone with noise as
    /// 16-bit WAV, a moving gradient with noise as a PNG face strip at the experiment's sampling rate and size, a
    /// transcript of common words, labels cycling through the experiment's classes, all in the training split.
    /// </summary>
    private static WrittenCorpus WriteCorpus(string dir, ExperimentConfig experiment, int count, double seconds)
    {
        Directory.CreateDirectory(Path.Combine(dir, "audio"));
        Directory.CreateDirectory(Path.Combine(dir, "faces"));
        var random = new Random(1);
        var labels = experiment.LabelNames;
        int rate = ItemFeaturizer.SampleRate, samples = (int)Math.Round(seconds * rate), size = experiment.Video.Size;
        double fps = experiment.Video.FramesPerSecond;
        int frameCount = Math.Max(1, (int)Math.Ceiling(seconds * fps - 1e-9));
        string[] words = ["the", "meeting", "moved", "to", "monday", "and", "I", "really", "think", "we", "should", "talk", "about", "it",
                          "again", "before", "dinner", "because", "nobody", "told", "me", "what", "happened", "yesterday", "at", "work"];
        var entries = new List<SynthEmoEntry>(count);
        var transcripts = new List<string>(count);
        var someFrames = new List<byte[]>();
        for (int n = 0; n < count; n++)
        {
            string id = $"bench-{n:D4}";
            var audio = new float[samples];
            double hz = 120 + 200 * random.NextDouble();
            for (int i = 0; i < samples; i++) audio[i] = (float)(0.3 * Math.Sin(2 * Math.PI * hz * i / rate) + 0.05 * (random.NextDouble() - 0.5));
            WavFile.Write(Path.Combine(dir, "audio", id + ".wav"), new AudioClip(audio, rate));

            var frames = new byte[frameCount][];
            for (int f = 0; f < frameCount; f++)
            {
                var rgb = frames[f] = new byte[size * size * 3];
                for (int y = 0; y < size; y++)
                    for (int x = 0; x < size; x++)
                        for (int c = 0; c < 3; c++)
                            rgb[(y * size + x) * 3 + c] = (byte)Math.Clamp((x * (c + 1) + y * (3 - c) + 7 * f + 31 * n) % 256 + random.Next(-8, 9), 0, 255);
            }
            FrameStrip.Write(Path.Combine(dir, "faces", id + ".png"), frames, size);
            if (someFrames.Count < 64) someFrames.AddRange(frames.Take(64 - someFrames.Count));

            int wordCount = Math.Max(3, (int)Math.Round(seconds * WordsPerSecond));
            string text = string.Join(' ', Enumerable.Range(0, wordCount).Select(_ => words[random.Next(words.Length)])) + ".";
            transcripts.Add(text);
            int label = n % labels.Count;
            entries.Add(new SynthEmoEntry(id, SynthEmoManifest.SplitName(DataSplit.Train), labels[label], label, text, $"audio/{id}.wav", $"faces/{id}.png",
                frameCount, size, fps, samples / (double)rate, "bench", "none", ""));
        }
        SynthEmoManifest.Write(dir, new SynthEmoInfo("bench-train", 1, 1, count, labels, rate, size, frameCount), entries);
        return new WrittenCorpus(transcripts, someFrames, size, frameCount);
    }

    /// <summary>
    /// RoBERTa-base and EfficientNet-B0 with random weights, written by the demo encoders' recipe at full size (a BPE
    /// vocabulary learnt from the transcripts stands in for RoBERTa's 50,265 tokens: the lookup costs the same).
    /// </summary>
    private static EncoderFolders WriteBaseEncoders(string dir, WrittenCorpus corpus)
    {
        var clock = Stopwatch.StartNew();
        var roberta = RobertaConfig.Base();
        string textDir = Path.Combine(dir, DemoEncoders.TextFolder), visualDir = Path.Combine(dir, DemoEncoders.VisualFolder);
        DemoEncoders.WriteTextEncoder(textDir, corpus.Transcripts, seed: 0, new DemoEncoders.TextEncoderShape
        {
            HiddenSize = roberta.HiddenSize, Layers = roberta.NumHiddenLayers, Heads = roberta.NumAttentionHeads,
            IntermediateSize = roberta.IntermediateSize, MaxTokens = roberta.MaxPositionEmbeddings - 2,
        });
        DemoEncoders.WriteVisualEncoder(visualDir, corpus.SomeFrames, corpus.FrameSize, seed: 0, new DemoEncoders.VisualEncoderShape
        {
            WidthMult = 1, DepthMult = 1, ImageSize = FeatureEncoderLoader.DefaultImageSize, CalibrationBatches = 2,
        });
        Console.WriteLine($"random RoBERTa-base and EfficientNet-B0 written to {dir} in the Hugging Face layout in {clock.Elapsed.TotalSeconds:F1} s "
            + $"({DirectorySize(dir) / 1e6:F0} MB)");
        return new EncoderFolders(null, textDir, visualDir);
    }

    private static string Describe(string folder) =>
        Path.GetRelativePath(ProductPaths.Root, folder) is var relative && !relative.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(relative)
            ? relative
            : folder;

    /// <summary>The items, in memory or reading the cache; the bench's own files are never skipped, so a skip is a bug to show.</summary>
    private static IReadOnlyList<ITrainingItem> Featurise(ItemFeaturizer featurizer, IReadOnlyList<EmotionItem> items, IReadOnlySet<Modality> modalities)
    {
        var report = new DatasetReport(SynthEmoDesign.CorpusName, "bench");
        var prepared = featurizer.Prepare(items, modalities, report);
        if (report.SkippedCount > 0) throw new InvalidOperationException($"the featurizer skipped a generated item: {report.Skipped[0]}");
        return prepared;
    }

    private static double Mean(IReadOnlyList<ITrainingItem> items, Func<ITrainingItem, TorchSharp.torch.Tensor?> features) =>
        items.Average(i => features(i) is { } t ? t.shape[0] : 0);

    private static (T Result, (double Wall, double Cpu) Time) Timed<T>(Func<T> run)
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var result = run();
        return (result, (clock.Elapsed.TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds));
    }

    /// <summary>Wall and process CPU seconds for one epoch of the trainer's loop; on a shared machine the CPU time is the steadier of the two.</summary>
    private static (double Wall, double Cpu) Epoch(TrainingLoop loop, IBatchCollator collator, IReadOnlyList<ITrainingItem> items) =>
        Timed(() => loop.Run(collator, items, step: 0)).Time;

    private static void ReportFeaturising(string what, (double Wall, double Cpu) time, int count, string note) =>
        Console.WriteLine($"  featurise, {what,-13}: {time.Wall,7:F2} s  {1000 * time.Wall / count,8:F1} ms/utterance  (CPU {time.Cpu,7:F2} s; {note})");

    private static void ReportEpoch(string what, IReadOnlyList<(double Wall, double Cpu)> epochs, int count)
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
