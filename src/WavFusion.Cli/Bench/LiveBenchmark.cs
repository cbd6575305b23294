using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using WavFusion.Core.Diagnostics;
using WavFusion.Core.Runtime;
using WavFusion.Live.Asr;
using WavFusion.Live.Pipeline;
using WavFusion.Media;

namespace WavFusion.Cli.Bench;

/// <summary>
/// `wavfusion bench live`: the real live runtime (one <see cref="LiveRuntime"/>, loaded once; sessions run with
/// <see cref="LiveRuntime.RunSessionAsync"/> on paced files, sharing its inference batcher) measured on the bundled
/// clip: window-end-to-event latency, the concurrent real-time streams sustained with faces, one stream with a live
/// Whisper transcript, resident memory over a long run, and the same at wav2vec2-base size. Prints numbers beside
/// the targets; asserts nothing.
/// </summary>
internal static class LiveBenchmark
{
    private static readonly string[] PartNames = ["latency", "streams", "whisper", "memory", "base"];

    // The targets of the live runtime (issue: "Speed and memory: bench live"), printed beside the measures.
    private const double TargetP95Ms = 200;
    private const int TargetStreams = 8;
    private const double TargetMemoryFlat = 0.05;

    internal sealed record Settings(
        IReadOnlySet<string> Parts,
        double Seconds,
        int[] Streams,
        int[] BaseStreams,
        double BoundMs,
        double Minutes,
        int MemoryStreams,
        double MallocTrimSeconds,
        double? WarmupSeconds,
        string? Whisper,
        AsrBackendKind Asr,
        string WhisperSize,
        string? BaseModel,
        BaseEncoders BaseEncoders,
        string Model,
        string Clip,
        string? Transcript,
        string ConfigPath);

    public static Command CreateCommand()
    {
        var parts = new Option<string[]>("--part") { Description = "what to measure: latency, streams, whisper, memory, base or all (several allowed)", DefaultValueFactory = _ => ["all"], AllowMultipleArgumentsPerToken = true };
        parts.AcceptOnlyFromAmong([.. PartNames, "all"]);
        var seconds = new Option<double>("--seconds") { Description = "stream length of each latency, streams, whisper and base measurement (the clip is looped or cut); 0: the whole clip", DefaultValueFactory = _ => 0 };
        var streams = new Option<string>("--streams") { Description = "concurrent stream counts to try in order, comma-separated, until one falls behind", DefaultValueFactory = _ => "1,2,4,8,12,16" };
        var baseStreams = new Option<string>("--base-streams") { Description = "the same for the base-size model", DefaultValueFactory = _ => "1,2,4,8" };
        var bound = new Option<double>("--bound-ms") { Description = "a stream count is sustained while the event latency p95 stays at or under this and capture drops nothing", DefaultValueFactory = _ => 1000 };
        var minutes = new Option<double>("--minutes") { Description = "length of the memory run (streams looping the clip)", DefaultValueFactory = _ => 10 };
        var memoryStreams = new Option<int>("--memory-streams") { Description = "concurrent streams during the memory run", DefaultValueFactory = _ => 2 };
        var mallocTrim = new Option<double>("--malloc-trim") { Description = "during the memory run, return glibc's kept free memory to the kernel (malloc_trim) every this many seconds, to tell retained from used memory; 0: never (as the product runs)", DefaultValueFactory = _ => 0 };
        var warmup = new Option<double?>("--warmup") { Description = "seconds of one unmeasured stream before each model's first measurement (first forwards, per-shape tuning); default the whole clip, 0 skips it" };
        var whisper = new Option<string?>("--whisper") { Description = "a real Whisper model (Hugging Face folder or ggml file) for the whisper part, instead of random weights" };
        var asr = new Option<string>("--asr") { Description = "recogniser for --whisper: torchsharp or whispernet", DefaultValueFactory = _ => "torchsharp" };
        asr.AcceptOnlyFromAmong([.. AsrBackends.Names]);
        var whisperSize = new Option<string>("--whisper-size") { Description = "dimensions of the random-weight Whisper: tiny, base or small", DefaultValueFactory = _ => "tiny" };
        whisperSize.AcceptOnlyFromAmong("tiny", "base", "small");
        var baseModel = new Option<DirectoryInfo?>("--base-model") { Description = "folder of the base-size random model: used when it holds one, else written there and kept (default: a temporary folder, deleted)" };
        var baseEncoders = new Option<string>("--base-encoders") { Description = "encoders of the base-size model: full (RoBERTa-base and EfficientNet-B0 shapes) or demo (the demo model's small ones)", DefaultValueFactory = _ => "full" };
        baseEncoders.AcceptOnlyFromAmong("full", "demo");
        var model = new Option<DirectoryInfo?>("--model") { Description = "the model folder of the latency, streams, whisper and memory parts; default the bundled demo model" };
        var clip = new Option<FileInfo?>("--clip") { Description = "speech with a face video; default samples/demo-clip.mp4 (its transcript beside it, NAME.transcript.json, is used when present)" };
        var config = new Option<FileInfo?>("--config") { Description = "live configuration; default config/live.json" };
        var command = new Command("live", "Measure the live runtime: event latency, concurrent real-time streams with faces, a live Whisper transcript, memory over a long run; demo and base size")
        {
            parts, seconds, streams, baseStreams, bound, minutes, memoryStreams, mallocTrim, warmup, whisper, asr, whisperSize, baseModel, baseEncoders, model, clip, config,
        };
        command.SetAction((parse, token) =>
        {
            var chosen = parse.GetValue(parts)!;
            var clipPath = parse.GetValue(clip)?.FullName ?? Path.Combine(ProductPaths.Root, "samples", "demo-clip.mp4");
            string transcriptPath = Path.ChangeExtension(clipPath, ".transcript.json");
            var settings = new Settings(
                chosen.Contains("all") ? PartNames.ToHashSet() : chosen.ToHashSet(),
                NonNegative("--seconds", parse.GetValue(seconds)),
                Counts("--streams", parse.GetValue(streams)!),
                Counts("--base-streams", parse.GetValue(baseStreams)!),
                Positive("--bound-ms", parse.GetValue(bound)),
                Positive("--minutes", parse.GetValue(minutes)),
                (int)Positive("--memory-streams", parse.GetValue(memoryStreams)),
                NonNegative("--malloc-trim", parse.GetValue(mallocTrim)),
                parse.GetValue(warmup) is { } w ? NonNegative("--warmup", w) : null,
                parse.GetValue(whisper),
                AsrBackends.Parse(parse.GetValue(asr)!),
                parse.GetValue(whisperSize)!,
                parse.GetValue(baseModel)?.FullName,
                parse.GetValue(baseEncoders) == "demo" ? BaseEncoders.Demo : BaseEncoders.Full,
                parse.GetValue(model)?.FullName ?? Path.Combine(ProductPaths.Models, "wavfusion-demo"),
                clipPath,
                File.Exists(transcriptPath) ? transcriptPath : null,
                parse.GetValue(config)?.FullName ?? ProductPaths.Config("live.json"));
            return RunAsync(settings, token);
        });
        return command;
    }

    private static double Positive(string option, double value) =>
        double.IsFinite(value) && value > 0 ? value : throw new OptionValueException(option, FormattableString.Invariant($"{value} must be a positive number"));

    private static double NonNegative(string option, double value) =>
        double.IsFinite(value) && value >= 0 ? value : throw new OptionValueException(option, FormattableString.Invariant($"{value} must be a number >= 0"));

    private static int[] Counts(string option, string text)
    {
        var counts = new List<int>();
        foreach (var item in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n is < 1 or > 256)
                throw new OptionValueException(option, $"'{item}' is not a stream count from 1 to 256");
            counts.Add(n);
        }
        if (counts.Count == 0) throw new OptionValueException(option, "no stream counts given");
        return [.. counts];
    }

    internal static async Task<int> RunAsync(Settings s, CancellationToken cancellationToken)
    {
        if (!File.Exists(s.Clip)) throw new FileNotFoundException($"{s.Clip}: clip not found", s.Clip);
        var options = LiveOptions.Load(s.ConfigPath);
        var transcript = s.Transcript is null ? [] : ClientTranscript.Load(s.Transcript);
        var work = Directory.CreateTempSubdirectory("wavfusion-bench-live-");
        try
        {
            var clips = new ClipLibrary(s.Clip, work.FullName, transcript);
            double seconds = s.Seconds > 0 ? s.Seconds : clips.Duration;
            string vad = Path.GetFullPath(options.Vad.Model, ProductPaths.Root);
            PrintHeader(options, s, clips, seconds);
            var report = new Report();

            if (s.Parts.Overlaps(["latency", "streams", "memory"]))
            {
                await using var runtime = LiveRuntime.Load(options, new LiveModels(s.Model, vad), withFaces: true);
                PrintModel("demo", runtime);
                await WarmupAsync(runtime, clips, s.WarmupSeconds, cancellationToken).ConfigureAwait(false);
                // Memory runs before the stream counts, so that its start is not the high-water mark of 16 streams.
                if (s.Parts.Contains("latency")) report.Latency = await LatencyAsync("demo", runtime, clips, seconds, cancellationToken).ConfigureAwait(false);
                if (s.Parts.Contains("memory")) report.Memory = await MemoryAsync(runtime, clips, s, cancellationToken).ConfigureAwait(false);
                if (s.Parts.Contains("streams")) report.Streams = await StreamsAsync("demo", runtime, clips, seconds, s.Streams, s.BoundMs, cancellationToken).ConfigureAwait(false);
            }
            if (s.Parts.Contains("whisper"))
                report.Whisper = await WhisperAsync(options, s, vad, clips, seconds, cancellationToken).ConfigureAwait(false);
            if (s.Parts.Contains("base"))
                (report.BaseLatency, report.BaseStreams) = await BaseAsync(options, s, vad, clips, work.FullName, seconds, cancellationToken).ConfigureAwait(false);

            PrintTargets(report, s);
            return 0;
        }
        finally
        {
            try
            {
                work.Delete(recursive: true);
            }
            catch (IOException)
            {
                // A temporary folder left behind is not worth failing the measurement for.
            }
        }
    }

    private sealed class Report
    {
        public StreamRun? Latency { get; set; }
        public (int Sustained, StreamRun? FirstFailed, string? Why)? Streams { get; set; }
        public (StreamRun Run, double Rtf, bool RealTime)? Whisper { get; set; }
        public (double Start, double End)? Memory { get; set; }
        public StreamRun? BaseLatency { get; set; }
        public (int Sustained, StreamRun? FirstFailed, string? Why)? BaseStreams { get; set; }
    }

    private static void PrintHeader(LiveOptions options, Settings s, ClipLibrary clips, double seconds)
    {
        Console.WriteLine(Invariant($"bench live: libtorch {torch.__version__}, {torch.get_num_threads()} torch thread(s), {Environment.ProcessorCount} core(s); CPU {CpuDescription()}"));
        ThreadPool.GetMinThreads(out int minWorkers, out _);
        Console.WriteLine(Invariant($"  OpenMP wait: {OpenMpWaitPolicy.Describe()}; {NativeMemoryPolicy.Describe()}; thread pool min {minWorkers} threads; load average {PoolLoad.ReadLoadAverage():F1}, CPU pressure {PoolLoad.ReadCpuPressure():F0} % (other processes share these cores)"));
        Console.WriteLine(Invariant($"  clip {clips.Source} ({clips.Duration:F1} s, audio + video{(clips.Transcript.Count > 0 ? " + client transcript" : "")}); streams of {seconds:F1} s, paced in real time (audio through AudioSources.File, frames through CameraSource with pace_files)"));
        Console.WriteLine(Invariant($"  windows {options.Windows.WindowMs} ms, hop {options.Windows.HopMs} ms; batcher max_batch {options.Batcher.MaxBatch}, max_wait {options.Batcher.MaxWaitMs} ms, per-modality scores {(options.Batcher.PerModalityScores ? "on" : "off")}; faces at {options.Faces.Fps:0.#} fps; a stream count is sustained while p95 <= {s.BoundMs:F0} ms (the pipeline's event latency, and from capture) and capture drops nothing"));
        Console.WriteLine("  latency: the events' own (from the window's last sample reaching the window assembler to the event); from capture: from the source delivering the window's end to the sink receiving the event (capture and VAD queues included)");
    }

    private static void PrintModel(string name, LiveRuntime runtime)
    {
        var b = runtime.Bundle;
        long parameters = b.Model.parameters().Sum(p => p.numel());
        var audio = b.Model.Config.Audio;
        Console.WriteLine(Invariant($"model {name}: {b.Folder} (version {b.ModelVersion}); {parameters / 1e6:F1} M parameters; wav2vec2 {audio.HiddenSize} wide, {audio.NumHiddenLayers} layers; text encoder {(b.TextEncoder is null ? "none" : b.TextEncoder.Dim + "-d")}, image encoder {(b.VisualEncoder is null ? "none" : $"{b.VisualEncoder.Dim}-d at {b.VisualEncoder.InputSize}px")}"));
    }

    private static async Task WarmupAsync(LiveRuntime runtime, ClipLibrary clips, double? warmup, CancellationToken cancellationToken)
    {
        double seconds = warmup ?? clips.Duration;
        if (seconds <= 0) return;
        var clock = Stopwatch.StartNew();
        var run = await LiveBenchRun.RunAsync(runtime, clips.OfLength(seconds), seconds, 1, video: true, clips.TranscriptFor(seconds), cancellationToken).ConfigureAwait(false);
        Console.WriteLine(Invariant($"  warm-up: one {seconds:F0} s stream, {run.Results.Count} results, {clock.Elapsed.TotalSeconds:F1} s (not measured)"));
    }

    private static async Task<StreamRun> LatencyAsync(string model, LiveRuntime runtime, ClipLibrary clips, double seconds, CancellationToken cancellationToken)
    {
        var run = await LiveBenchRun.RunAsync(runtime, clips.OfLength(seconds), seconds, 1, video: true, clips.TranscriptFor(seconds), cancellationToken).ConfigureAwait(false);
        int finals = run.Results.Count(r => r.IsFinal);
        Console.WriteLine(Invariant(
            $"latency: {model}, 1 stream, audio+faces+transcript, {seconds:F1} s: p50 {run.Percentile(50):F0} ms, p95 {run.Percentile(95):F0} ms, max {run.Percentile(100):F0} ms; interim (1 s hop) p50 {run.Percentile(50, true):F0} ms, p95 {run.Percentile(95, true):F0} ms; processing (finals from the VAD's end decision) p50 {run.ProcessingPercentile(50):F0} ms, p95 {run.ProcessingPercentile(95):F0} ms; from capture p50 {run.CapturePercentile(50):F0} ms, p95 {run.CapturePercentile(95):F0} ms; results {run.Results.Count} ({finals} final, {run.Results.Count(r => r.Visual)} with faces, {run.Results.Count(r => r.Text)} with text); capture drops {run.CaptureDrops}; CPU {run.CpuShare * 100:F0} %"));
        Console.WriteLine(Invariant($"  batches (size x count): {run.BatchText}; {run.Pool}"));
        return run;
    }

    private static async Task<(int Sustained, StreamRun? FirstFailed, string? Why)> StreamsAsync(string model, LiveRuntime runtime, ClipLibrary clips, double seconds,
        int[] counts, double boundMs, CancellationToken cancellationToken)
    {
        string clip = clips.OfLength(seconds);
        int sustained = 0;
        foreach (int n in counts)
        {
            var run = await LiveBenchRun.RunAsync(runtime, clip, seconds, n, video: true, transcript: null, cancellationToken).ConfigureAwait(false);
            string? why = run.Results.Count == 0 ? "no results"
                : run.Percentile(95) > boundMs ? Invariant($"p95 {run.Percentile(95):F0} ms > {boundMs:F0} ms")
                : run.CapturePercentile(95) > boundMs ? Invariant($"p95 from capture {run.CapturePercentile(95):F0} ms > {boundMs:F0} ms")
                : run.CaptureDrops > 0 ? Invariant($"{run.CaptureDrops} capture drops")
                : null;
            Console.WriteLine(Invariant(
                $"streams: {model}, N={n}: p50 {run.Percentile(50):F0} ms, p95 {run.Percentile(95):F0} ms, max {run.Percentile(100):F0} ms; from capture p50 {run.CapturePercentile(50):F0} ms, p95 {run.CapturePercentile(95):F0} ms; capture drops {run.CaptureDrops} (audio {run.Drops.GetValueOrDefault("audio_capture")}, video {run.Drops.GetValueOrDefault("video_capture")}), other drops {run.OtherDropsText}; results {run.Results.Count} ({run.Results.Count(r => r.Visual)} with faces); CPU {run.CpuShare * 100:F0} % of {Environment.ProcessorCount} cores; last event {run.MaxFinishLagSeconds:F1} s after the audio: {(why is null ? "sustained" : "behind (" + why + ")")}"));
            Console.WriteLine(Invariant($"  batches (size x count): {run.BatchText}; {run.Pool}"));
            if (why is not null) return (sustained, run, why);
            sustained = n;
        }
        return (sustained, null, null);
    }

    private static async Task<(double Start, double End)> MemoryAsync(LiveRuntime runtime, ClipLibrary clips, Settings s, CancellationToken cancellationToken)
    {
        double total = s.Minutes * 60;
        // One sample a minute; short runs get five, the first of which is the start (after the pipeline has warmed up).
        double interval = Math.Min(60, total / 5);
        string clip = clips.OfLength(total);
        var samples = new List<(double T, long Rss, long Malloc)>();
        var clock = Stopwatch.StartNew();
        void Sample(string note)
        {
            long rss = ProcessMemory.CurrentRssBytes();
            long managed = GC.GetGCMemoryInfo().TotalCommittedBytes;
            var malloc = ProcessMemory.MallocBytes();
            int threads;
            using (var self = Process.GetCurrentProcess()) threads = self.Threads.Count;
            double t = clock.Elapsed.TotalSeconds;
            lock (samples) samples.Add((t, rss, malloc?.InUse ?? 0));
            string allocator = malloc is { } m ? Invariant($"; malloc in use {m.InUse / 1048576.0:F1} MiB, freed and kept {m.FreeKept / 1048576.0:F1} MiB") : "";
            Console.WriteLine(Invariant($"memory: t={(int)t / 60}:{(int)t % 60:00} RSS {rss / 1048576.0:F1} MiB (managed heap committed {managed / 1048576.0:F1} MiB, native {(rss - managed) / 1048576.0:F1} MiB{allocator}; {threads} threads){note}"));
        }
        Sample(" before the streams");
        using var stop = new CancellationTokenSource();
        var trimmer = s.MallocTrimSeconds > 0 ? Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(s.MallocTrimSeconds));
            while (await timer.WaitForNextTickAsync(stop.Token).ConfigureAwait(false)) NativeMemoryPolicy.TrimFreedMemory();
        }, CancellationToken.None) : Task.CompletedTask;
        if (s.MallocTrimSeconds > 0) Console.WriteLine(Invariant($"memory: malloc_trim every {s.MallocTrimSeconds:0.#} s (diagnostic; the product never trims)"));
        var sampler = Task.Run(async () =>
        {
            for (int k = 1; ; k++)
            {
                var due = TimeSpan.FromSeconds(k * interval) - clock.Elapsed;
                if (due > TimeSpan.Zero) await Task.Delay(due, stop.Token).ConfigureAwait(false);
                Sample(k == 1 ? " (start)" : "");
            }
        }, CancellationToken.None);
        var run = await LiveBenchRun.RunAsync(runtime, clip, total, s.MemoryStreams, video: true, clips.TranscriptFor(total), cancellationToken).ConfigureAwait(false);
        await stop.CancelAsync().ConfigureAwait(false);
        try { await Task.WhenAll(sampler, trimmer).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        Sample(" (end)");
        List<(double T, long Rss, long Malloc)> taken;
        lock (samples) taken = [.. samples];
        var start = taken.Count > 2 ? taken[1] : taken[0];
        var end = taken[^1];
        double ratio = end.Rss / (double)start.Rss;
        string allocator = start.Malloc > 0 ? Invariant($"; malloc in use {start.Malloc / 1048576.0:F1} -> {end.Malloc / 1048576.0:F1} MiB (ratio {end.Malloc / (double)start.Malloc:F3})") : "";
        Console.WriteLine(Invariant(
            $"memory: {s.MemoryStreams} stream(s) x {total / 60:F1} min (clip looped), {run.Results.Count} results, p95 {run.Percentile(95):F0} ms (from capture {run.CapturePercentile(95):F0} ms), capture drops {run.CaptureDrops}, {run.Pool}; RSS start {start.Rss / 1048576.0:F1} MiB (t={start.T:F0} s) -> end {end.Rss / 1048576.0:F1} MiB (t={end.T:F0} s): ratio {ratio:F3} ({(ratio - 1) * 100:+0.0;-0.0} %); peak {ProcessMemory.PeakRssBytes() / 1048576.0:F1} MiB{allocator}"));
        return (start.Rss, end.Rss);
    }

    private static async Task<(StreamRun Run, double Rtf, bool RealTime)> WhisperAsync(LiveOptions options, Settings s, string vad, ClipLibrary clips, double seconds,
        CancellationToken cancellationToken)
    {
        IAsrBackend inner = s.Whisper is null ? SimulatedSpeakerWhisper.Create(s.WhisperSize) : AsrBackends.Load(s.Asr, s.Whisper, new AsrOptions { Language = "en" });
        var timed = new TimedAsrBackend(inner);
        await using var runtime = LiveRuntime.Load(options, new LiveModels(s.Model, vad), withFaces: true, timed);
        Console.WriteLine($"whisper: recogniser {timed.Description}{(inner is SimulatedSpeakerWhisper sim ? Invariant($" ({sim.Parameters / 1e6:F1} M parameters; tokens decoded per step = 4 + 3.3 x buffer seconds)") : "")}");
        var run = await LiveBenchRun.RunAsync(runtime, clips.OfLength(seconds), seconds, 1, video: true, transcript: null, cancellationToken).ConfigureAwait(false);
        var (steps, stepSeconds, maxStep, buffered) = timed.Totals;
        double rtf = stepSeconds / seconds;
        long transcriberDrops = run.Drops.GetValueOrDefault("transcriber_audio");
        bool realTime = rtf < 1 && transcriberDrops == 0 && run.CaptureDrops == 0 && run.Results.Count > 0
                        && run.Percentile(95) <= s.BoundMs && run.CapturePercentile(95) <= s.BoundMs;
        Console.WriteLine(Invariant(
            $"whisper: demo + whisper-{(s.Whisper is null ? s.WhisperSize : "model")} live, 1 stream, audio+faces+transcript, {seconds:F1} s: transcript RTF {rtf:F2} ({steps} steps, {stepSeconds:F1} s in steps over {seconds:F1} s of stream, mean buffer {(steps == 0 ? 0 : buffered / steps):F1} s, slowest step {maxStep:F2} s); event p50 {run.Percentile(50):F0} ms, p95 {run.Percentile(95):F0} ms (from capture {run.CapturePercentile(95):F0} ms); results {run.Results.Count} ({run.Results.Count(r => r.Text)} with text, {run.Results.Count(r => r.Visual)} with faces); drops: capture {run.CaptureDrops}, transcriber_audio {transcriberDrops}; CPU {run.CpuShare * 100:F0} %: {(realTime ? "real time" : "behind")}"));
        Console.WriteLine(Invariant($"  batches (size x count): {run.BatchText}; {run.Pool}"));
        return (run, rtf, realTime);
    }

    private static async Task<(StreamRun, (int, StreamRun?, string?))> BaseAsync(LiveOptions options, Settings s, string vad, ClipLibrary clips, string work, double seconds,
        CancellationToken cancellationToken)
    {
        string folder = s.BaseModel ?? Path.Combine(work, "wavfusion-base-random");
        if (!File.Exists(Path.Combine(folder, "checkpoint.json")))
        {
            var clock = Stopwatch.StartNew();
            BaseSizeBundle.Write(folder, s.BaseEncoders, s.Model, s.Clip, clips.Transcript, options.Faces);
            long bytes = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
            Console.WriteLine(Invariant($"base: wrote a random-weight model folder ({bytes / 1048576.0:F0} MiB; checkpoint.json + model.safetensors, text-encoder/, visual-encoder/) to {folder} in {clock.Elapsed.TotalSeconds:F1} s; encoders: {EncodersText(s.BaseEncoders)}"));
        }
        else Console.WriteLine($"base: using the model folder {folder}");
        await using var runtime = LiveRuntime.Load(options, new LiveModels(folder, vad), withFaces: true);
        PrintModel("base", runtime);
        await WarmupAsync(runtime, clips, s.WarmupSeconds, cancellationToken).ConfigureAwait(false);
        var latency = await LatencyAsync("base", runtime, clips, seconds, cancellationToken).ConfigureAwait(false);
        var streams = await StreamsAsync("base", runtime, clips, seconds, s.BaseStreams, s.BoundMs, cancellationToken).ConfigureAwait(false);
        return (latency, streams);
    }

    private static string EncodersText(BaseEncoders encoders) => encoders == BaseEncoders.Full
        ? "full size (RoBERTa-base shape: 768 wide, 12 layers, 12 heads, 3072 FFN, small BPE vocabulary; EfficientNet-B0 at width 1.0, 224 px, BatchNorm calibrated on the clip's faces), random weights"
        : "the demo model's (128-d RoBERTa, 320-d EfficientNet at 112 px)";

    private static void PrintTargets(Report r, Settings s)
    {
        Console.WriteLine("targets:");
        if (r.Latency is { } latency)
            Console.WriteLine(Invariant($"  target: demo p95 < {TargetP95Ms:F0} ms | measured processing p95 {latency.ProcessingPercentile(95):F0} ms (interim {latency.Percentile(95, true):F0} ms; latency from the last voiced sample, with the VAD's end-of-speech wait, {latency.Percentile(95):F0} ms) | {Met(latency.ProcessingPercentile(95) < TargetP95Ms)}"));
        if (r.Streams is { } streams)
            Console.WriteLine(Invariant($"  target: demo >= {TargetStreams} concurrent audio+face streams | measured {streams.Sustained} sustained{(streams.FirstFailed is { } f ? $" (N={f.Streams} behind: {streams.Why})" : $" (every count tried: {string.Join(",", s.Streams)})")} | {Met(streams.Sustained >= TargetStreams)}"));
        if (r.Whisper is { } whisper)
            Console.WriteLine(Invariant($"  target: one stream with Whisper {(s.Whisper is null ? s.WhisperSize : "(given model)")} live in real time | measured transcript RTF {whisper.Rtf:F2}, event p95 {whisper.Run.Percentile(95):F0} ms | {Met(whisper.RealTime)}"));
        if (r.Memory is { } memory)
        {
            double change = memory.End / memory.Start - 1;
            Console.WriteLine(Invariant($"  target: memory flat within {TargetMemoryFlat * 100:F0} % | measured {change * 100:+0.0;-0.0} % over {s.Minutes:0.##} min | {Met(Math.Abs(change) <= TargetMemoryFlat)}"));
        }
        if (r.BaseLatency is { } baseLatency)
            Console.WriteLine(Invariant($"  base size (no target): p95 {baseLatency.Percentile(95):F0} ms (interim {baseLatency.Percentile(95, true):F0} ms); streams sustained {r.BaseStreams?.Sustained ?? 0}{(r.BaseStreams?.FirstFailed is { } bf ? $" (N={bf.Streams} behind: {r.BaseStreams?.Why})" : "")}"));
    }

    private static string Met(bool met) => met ? "met" : "NOT met";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>The CPU's model name and the vector extensions libtorch's kernels choose between (from /proc/cpuinfo).</summary>
    private static string CpuDescription()
    {
        const string cpuinfo = "/proc/cpuinfo";
        if (!File.Exists(cpuinfo)) return "unknown";
        string? name = null;
        var flags = new HashSet<string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(cpuinfo))
        {
            if (name is null && line.StartsWith("model name", StringComparison.Ordinal)) name = line[(line.IndexOf(':') + 1)..].Trim();
            if (flags.Count == 0 && line.StartsWith("flags", StringComparison.Ordinal))
                flags.UnionWith(line[(line.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        }
        string[] interesting = ["avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16"];
        var present = interesting.Where(flags.Contains).ToList();
        return $"{name ?? "unknown"} ({(present.Count == 0 ? "no AVX2" : string.Join(" ", present))})";
    }
}
