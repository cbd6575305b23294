using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using WavFusion.Live.Asr;
using WavFusion.Live.Capture;
using WavFusion.Live.Pipeline;
using WavFusion.Live.Sinks;
using WavFusion.Media;

namespace WavFusion.Cli.Commands;

/// <summary>
/// `wavfusion live`: the live runtime on a microphone and a camera, or on files, to the console readout or JSON lines.
/// `wavfusion demo` runs the same on the bundled sample clip.
/// </summary>
internal static class LiveCommand
{
    public static Command Create()
    {
        var mic = new Option<string?>("--mic") { Description = "ALSA (or WASAPI) capture device; default microphone.device of the config (\"default\")" };
        var camera = new Option<string?>("--camera") { Description = "camera index, RTSP/HTTP URL or video file" };
        var audioFile = new Option<FileInfo?>("--audio-file") { Description = "an audio or video file instead of the microphone" };
        var transcriptFile = new Option<FileInfo?>("--transcript-file") { Description = "the client's own timed transcript: a JSON array of {start_ms, end_ms, text}" };
        var realtime = new Option<bool>("--realtime") { Description = "pace --audio-file like a microphone (default: as fast as possible)" };
        var whisper = new Option<string?>("--whisper") { Description = "a Whisper model (Hugging Face folder or ggml file) for a live transcript" };
        var asr = new Option<string>("--asr") { Description = "recogniser for --whisper: torchsharp or whispernet", DefaultValueFactory = _ => "torchsharp" };
        asr.AcceptOnlyFromAmong([.. AsrBackends.Names]);
        var model = new Option<DirectoryInfo?>("--model") { Description = "a model folder; default the bundled demo model" };
        var json = new Option<bool>("--json") { Description = "write each event as one line of the proto's JSON mapping instead of the console readout" };
        var duration = new Option<double?>("--duration") { Description = "stop after this many seconds of stream time" };
        var config = new Option<FileInfo?>("--config") { Description = "live configuration; default config/live.json" };
        var weights = WeightsOption();
        var command = new Command("live", "Recognise emotions live from a microphone and a camera (or files): events to the console or as JSON lines")
        {
            mic, camera, audioFile, transcriptFile, realtime, whisper, asr, model, json, duration, config, weights,
        };
        command.SetAction((parse, token) => RunAsync(new LiveRequest(
            parse.GetValue(mic), parse.GetValue(camera), parse.GetValue(audioFile)?.FullName, parse.GetValue(transcriptFile)?.FullName,
            parse.GetValue(realtime), parse.GetValue(whisper), parse.GetValue(asr)!, parse.GetValue(model)?.FullName,
            parse.GetValue(json), parse.GetValue(duration), parse.GetValue(config)?.FullName) { Weights = parse.GetValue(weights) }, token));
        return command;
    }

    public sealed record LiveRequest(string? Mic, string? Camera, string? AudioFile, string? TranscriptFile, bool Realtime, string? Whisper,
        string Asr, string? ModelFolder, bool Json, double? DurationSeconds, string? ConfigPath)
    {
        /// <summary>Overrides windows.window_ms of the config (`demo --window`); validated against the model's minimum.</summary>
        public double? WindowSeconds { get; init; }

        /// <summary>Overrides windows.hop_ms of the config (`demo --hop`).</summary>
        public double? HopSeconds { get; init; }

        /// <summary>Overrides asr.weights of the config (`--weights`).</summary>
        public string? Weights { get; init; }
    }

    public static async Task<int> RunAsync(LiveRequest request, CancellationToken cancellationToken)
    {
        if (request.DurationSeconds is { } d && (!double.IsFinite(d) || d <= 0 || d > 86_400))
            throw new OptionValueException("--duration", FormattableString.Invariant($"{d} is not a number of seconds between 0 and 86400"));
        if (request.AudioFile is not null && !File.Exists(request.AudioFile))
            throw new FileNotFoundException($"{request.AudioFile}: audio file not found", request.AudioFile);
        var options = LiveOptions.Load(request.ConfigPath ?? ProductPaths.Config("live.json"));
        if (request.Mic is not null) options = options with { Microphone = options.Microphone with { Device = request.Mic } };
        if (request.WindowSeconds is { } w) options = options with { Windows = options.Windows with { WindowMs = Milliseconds(w) } };
        if (request.HopSeconds is { } h) options = options with { Windows = options.Windows with { HopMs = Milliseconds(h) } };
        if (request.Weights is not null) options = options with { Asr = options.Asr with { Weights = request.Weights } };
        var transcript = request.TranscriptFile is null ? null : ClientTranscript.Load(request.TranscriptFile);
        var models = new LiveModels(
            request.ModelFolder ?? Path.Combine(ProductPaths.Models, "wavfusion-demo"),
            Path.GetFullPath(options.Vad.Model, ProductPaths.Root),
            request.Whisper,
            AsrBackends.Parse(request.Asr));

        await using var runtime = LiveRuntime.Load(options, models, withFaces: request.Camera is not null);
        int windowSamples = (int)((long)options.Windows.WindowMs * AudioChunk.SampleRate / 1000);
        if (windowSamples < runtime.Bundle.MinimumSamples)
            throw new OptionValueException(request.WindowSeconds is null ? "windows.window_ms" : "--window", string.Create(CultureInfo.InvariantCulture,
                $"{options.Windows.WindowMs} ms is {windowSamples} samples; the model needs at least {runtime.Bundle.MinimumSamples} ({runtime.Bundle.MinimumSamples * 1000.0 / AudioChunk.SampleRate:0.#} ms)"));
        await using IAudioSource audio = request.AudioFile is not null
            ? AudioSources.File(request.AudioFile, request.Realtime, options.Microphone.ChunkMs)
            : AudioSources.Microphone(options.Microphone);
        // A video file beside live audio (a microphone, a paced file) must be paced too, or its capture channel drops it.
        var camera = options.Camera with { PaceFiles = options.Camera.PaceFiles || audio.Realtime };
        await using IVideoSource? video = request.Camera is null ? null : new CameraSource(request.Camera, camera);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (request.DurationSeconds is { } seconds) stop.CancelAfter(TimeSpan.FromSeconds(seconds));
        var stats = new LiveStats();
        IEventSink sink = request.Json ? new JsonLinesSink(Console.Out) : new ConsoleReadout(AnsiConsole.Console, stats);
        if (!request.Json)
        {
            // The header goes with the readout on standard output; standard error keeps errors and the summary.
            Console.Out.WriteLine($"model {runtime.Bundle.Folder} (version {runtime.Bundle.ModelVersion}); audio {audio.Name}"
                                    + (video is null ? "" : $"; camera {video.Name}") + (transcript is null ? "" : $"; transcript {request.TranscriptFile}")
                                    + (request.Whisper is null ? "" : $"; whisper {request.Whisper} ({request.Asr})"));
            if (runtime.Bundle.IsDemoModel)
                Console.Out.WriteLine("DEMO MODEL: trained on synthetic SynthEmo data only; its scores say nothing about real emotions");
        }
        await runtime.RunSessionAsync("live-1", audio, video, transcript, [sink], stats, cancellationToken: stop.Token).ConfigureAwait(false);
        Console.Error.WriteLine(Summary(stats, runtime));
        return 0;
    }

    /// <summary>`--weights`, unset unless given: the config's asr.weights applies otherwise.</summary>
    public static Option<string?> WeightsOption()
    {
        var option = new Option<string?>("--weights") { Description = "decoder weights of our Whisper port: fp32, f16 or int8 (default: asr.weights of the config)" };
        option.AcceptOnlyFromAmong([.. WavFusion.Core.Quantization.WeightFormats.Names]);
        return option;
    }

    /// <summary>Seconds to whole milliseconds, at least 1 (the options were validated in seconds already).</summary>
    private static int Milliseconds(double seconds) => Math.Max(1, (int)Math.Round(seconds * 1000));

    private static string Summary(LiveStats stats, LiveRuntime runtime)
    {
        var drops = stats.Drops.Where(p => p.Value > 0).Select(p => $"{p.Key} {p.Value}").ToList();
        var batches = string.Join(", ", runtime.Batcher.BatchSizes.OrderBy(p => p.Key).Select(p => $"{p.Key}x{p.Value}"));
        return string.Create(CultureInfo.InvariantCulture,
            $"summary: {stats.Results} results ({stats.FinalResults} final), {stats.SpeechEvents} speech events; latency p50 {stats.LatencyPercentile(50):F0} ms, p95 {stats.LatencyPercentile(95):F0} ms; batches (size x count) {batches}; drops {(drops.Count == 0 ? "none" : string.Join(", ", drops))}");
    }
}
