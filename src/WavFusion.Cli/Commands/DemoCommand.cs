using System.CommandLine;
using System.Globalization;

namespace WavFusion.Cli.Commands;

/// <summary>
/// `wavfusion demo`: the whole live pipeline (capture from files, Silero VAD, windows, the client transcript, faces,
/// the shared batcher, events, the console readout) on the bundled clip — speech with a face video and its timed
/// transcript — with the bundled demo model. No microphone or camera is needed. The console readout runs at the
/// clip's real-time pace; <c>--json</c> writes the events as JSON lines as fast as possible.
/// </summary>
internal static class DemoCommand
{
    /// <summary>Bound on --window and --hop: ten minutes is far beyond any utterance and keeps sample counts in an int.</summary>
    private const double MaxSeconds = 600;

    public static Command Create()
    {
        var audio = new Option<FileInfo?>("--audio") { Description = "audio or video file (any format ffmpeg reads); default the bundled samples/demo-clip.mp4" };
        var video = new Option<FileInfo?>("--video") { Description = "video file for faces; default the bundled clip's video when --audio is not given" };
        var transcript = new Option<FileInfo?>("--transcript-file")
        {
            Description = "timed transcript (a JSON array of {start_ms, end_ms, text}); default the audio's sidecar NAME.transcript.json when there is one",
        };
        var model = new Option<DirectoryInfo?>("--model") { Description = "a WavFusion model folder; default the bundled demo model" };
        var whisper = new Option<string?>("--whisper") { Description = "a Whisper model (Hugging Face folder or ggml file) to transcribe live instead of the transcript file" };
        var asr = new Option<string>("--asr") { Description = "recogniser for --whisper: torchsharp or whispernet", DefaultValueFactory = _ => "torchsharp" };
        asr.AcceptOnlyFromAmong([.. Live.Asr.AsrBackends.Names]);
        var window = new Option<double?>("--window") { Description = "window length in seconds (default windows.window_ms of the config, 4 s)" };
        var hop = new Option<double?>("--hop") { Description = "hop between interim windows in seconds (default windows.hop_ms of the config, 1 s)" };
        var json = new Option<bool>("--json") { Description = "write each event as one line of the proto's JSON mapping, as fast as possible, instead of the real-time console readout" };
        var config = new Option<FileInfo?>("--config") { Description = "live configuration; default config/live.json" };
        var weights = LiveCommand.WeightsOption();
        var command = new Command("demo", "Run the live pipeline on the bundled clip (speech, face video, transcript): emotion events in real time")
        {
            audio, video, transcript, model, whisper, asr, window, hop, json, config, weights,
        };
        command.SetAction((parse, token) =>
        {
            var windowSeconds = parse.GetValue(window);
            var hopSeconds = parse.GetValue(hop);
            if (windowSeconds is { } w) Samples("--window", w);
            if (hopSeconds is { } h) Samples("--hop", h);
            bool bundled = parse.GetValue(audio) is null;
            string audioPath = parse.GetValue(audio)?.FullName ?? ProductPaths.DemoClip;
            string? videoPath = parse.GetValue(video)?.FullName ?? (bundled ? ProductPaths.DemoClip : null);
            if (videoPath is not null && !File.Exists(videoPath))
                throw new FileNotFoundException($"{videoPath}: video file not found", videoPath);
            string? transcriptPath = parse.GetValue(transcript)?.FullName ?? Sidecar(audioPath);
            bool asFastAsPossible = parse.GetValue(json);
            var request = new LiveCommand.LiveRequest(
                Mic: null, Camera: videoPath, AudioFile: audioPath, TranscriptFile: transcriptPath, Realtime: !asFastAsPossible,
                Whisper: parse.GetValue(whisper), Asr: parse.GetValue(asr)!, ModelFolder: parse.GetValue(model)?.FullName,
                Json: asFastAsPossible, DurationSeconds: null, ConfigPath: parse.GetValue(config)?.FullName)
            {
                WindowSeconds = windowSeconds,
                HopSeconds = hopSeconds,
                Weights = parse.GetValue(weights),
            };
            return LiveCommand.RunAsync(request, token);
        });
        return command;
    }

    /// <summary>NAME.transcript.json beside NAME.ext, when it exists: the bundled clip's timed sentences.</summary>
    private static string? Sidecar(string audioPath)
    {
        string sidecar = Path.ChangeExtension(audioPath, ".transcript.json");
        return File.Exists(sidecar) ? sidecar : null;
    }

    /// <summary>A window or hop length in samples at the model's rate, or an error naming the option and its bounds.</summary>
    internal static int Samples(string option, double seconds)
    {
        if (!double.IsFinite(seconds) || seconds <= 0 || seconds > MaxSeconds)
            throw new OptionValueException(option, FormattableString.Invariant($"{seconds} is not a length in seconds between 0 and {MaxSeconds}"));
        int samples = (int)Math.Round(seconds * Media.AudioChunk.SampleRate);
        if (samples < 1)
            throw new OptionValueException(option, FormattableString.Invariant($"{seconds} s is less than one sample at {Media.AudioChunk.SampleRate} Hz"));
        return samples;
    }
}
