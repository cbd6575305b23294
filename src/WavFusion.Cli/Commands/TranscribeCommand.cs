using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using TorchSharp;
using WavFusion.Core.Audio;
using WavFusion.Core.Quantization;
using WavFusion.Live.Asr;
using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Streaming;

namespace WavFusion.Cli.Commands;

/// <summary>`wavfusion transcribe --model PATH FILE [--stream]`: Whisper segments of an audio file, whole or as a live stream.</summary>
internal static class TranscribeCommand
{
    /// <summary>Beyond this many threads per core libtorch only adds contention; the bound catches typos such as 1000.</summary>
    private static int MaxThreads => Environment.ProcessorCount * 4;
    /// <summary>openai-whisper and whisper.cpp use 5; wider beams cost linearly and gain nothing measurable.</summary>
    private const int MaxBeam = 32;

    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Hugging Face Whisper folder or whisper.cpp ggml file", Required = true };
        var file = new Argument<FileInfo>("FILE") { Description = "audio or video file (anything ffmpeg reads)" };
        var stream = new Option<bool>("--stream") { Description = "feed the file in 1 s chunks to the streaming transcriber (LocalAgreement-2)" };
        var language = new Option<string?>("--language") { Description = "language code; detected when omitted (multilingual models)" };
        var beam = new Option<int>("--beam") { Description = "beam size at temperature 0 (1 = greedy)", DefaultValueFactory = _ => 5 };
        var translate = new Option<bool>("--translate") { Description = "translate to English instead of transcribing" };
        var noTimestamps = new Option<bool>("--no-timestamps") { Description = "decode without timestamp tokens (one segment per window)" };
        var threads = new Option<int>("--threads") { Description = "CPU threads (libtorch, or whisper.cpp with --asr whispernet)", DefaultValueFactory = _ => Environment.ProcessorCount };
        var asr = new Option<string>("--asr") { Description = "recogniser: torchsharp (our Whisper port) or whispernet (whisper.cpp through Whisper.net, ggml files)", DefaultValueFactory = _ => "torchsharp" };
        asr.AcceptOnlyFromAmong([.. AsrBackends.Names]);
        var weights = WeightsOption();
        var command = new Command("transcribe", "Transcribe an audio file with Whisper") { model, file, stream, language, beam, translate, noTimestamps, threads, asr, weights };
        command.SetAction(async (parse, cancellationToken) =>
        {
            // libtorch aborts the process on a thread count below 1, so it is checked before it gets there.
            int threadCount = InRange("--threads", parse.GetValue(threads), 1, MaxThreads);
            torch.set_num_threads(threadCount);
            var options = new AsrOptions
            {
                Language = parse.GetValue(language),
                BeamSize = InRange("--beam", parse.GetValue(beam), 1, MaxBeam),
                Translate = parse.GetValue(translate),
                WithoutTimestamps = parse.GetValue(noTimestamps),
                Threads = threadCount,
                Weights = WeightFormats.Parse(parse.GetValue(weights)!),
            };
            string audioPath = parse.GetValue(file)!.FullName;
            var audio = AudioFile.Load(audioPath, WhisperAudio.SampleRate).Require(WhisperAudio.SampleRate, audioPath).Samples;
            var clock = Stopwatch.StartNew();
            using var backend = Load(AsrBackends.Parse(parse.GetValue(asr)!), parse.GetValue(model)!, options);
            Console.Error.WriteLine($"loaded {backend.Description} in {clock.Elapsed.TotalSeconds:F2} s{(backend is TorchSharpAsrBackend t ? "; " + t.WeightMemory : "")}");
            clock.Restart();
            bool streaming = parse.GetValue(stream);
            var segments = streaming
                ? new StreamingTranscriber(backend).TranscribeAsync(Chunks(audio, cancellationToken), cancellationToken)
                : backend.TranscribeFileAsync(audio, cancellationToken);
            await foreach (var s in segments.ConfigureAwait(false))
                Console.WriteLine($"[{Time(s.Start.TotalSeconds)} --> {Time(s.End.TotalSeconds)}] {(streaming ? s.IsFinal ? "final   " : "interim " : "")}{s.Text}");
            double seconds = audio.Length / (double)WhisperAudio.SampleRate;
            Console.Error.WriteLine($"{seconds:F1} s of audio in {clock.Elapsed.TotalSeconds:F2} s (real-time factor {clock.Elapsed.TotalSeconds / seconds:F2})");
            return 0;
        });
        return command;
    }

    /// <summary>`--weights fp32|f16|int8`: how our port holds the decoder's weights (shared by transcribe, live and demo).</summary>
    public static Option<string> WeightsOption(Func<string>? defaultValue = null)
    {
        var option = new Option<string>("--weights")
        {
            Description = "decoder weights of our Whisper port: fp32, or f16/int8 for faster CPU decoding (torchsharp backend only)",
            DefaultValueFactory = _ => defaultValue?.Invoke() ?? "fp32",
        };
        option.AcceptOnlyFromAmong([.. WeightFormats.Names]);
        return option;
    }

    /// <summary>The library names the option a value fails on; here it becomes the command's option error (exit 2).</summary>
    private static IAsrBackend Load(AsrBackendKind kind, string model, AsrOptions options)
    {
        try
        {
            return AsrBackends.Load(kind, model, options);
        }
        catch (AsrOptionException e)
        {
            throw new OptionValueException(e.Option, e.Reason);
        }
    }

    private static int InRange(string option, int value, int min, int max) =>
        value >= min && value <= max ? value : throw new OptionValueException(option, $"{value} is outside {min}..{max}");

    private static async IAsyncEnumerable<AudioChunk> Chunks(float[] audio, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        const int chunk = WhisperAudio.SampleRate;
        for (int start = 0; start < audio.Length; start += chunk)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return new AudioChunk(audio[start..Math.Min(audio.Length, start + chunk)], TimeSpan.FromSeconds(start / (double)WhisperAudio.SampleRate));
            await Task.Yield();
        }
    }

    private static string Time(double seconds) => TimeSpan.FromSeconds(seconds).ToString(@"hh\:mm\:ss\.fff", CultureInfo.InvariantCulture);
}
