using System.Diagnostics;
using Whisper.net;
using Whisper.net.LibraryLoader;
using WavFusion.Models.Whisper;

namespace WavFusion.Cli.Bench;

/// <summary>
/// whisper.cpp in process (Whisper.net) as the benchmarks drive it: greedy at temperature 0 without fallback, one
/// segment, no context, English, a token budget per run, and optionally a shorter audio context (audio_ctx) and a
/// prompt, as the streaming backend (WhisperNetHypothesisSource) uses it.
/// </summary>
internal sealed class WhisperCppRunner : IDisposable
{
    private readonly WhisperFactory _factory;
    private readonly int _threads;

    public WhisperCppRunner(string path, int threads, WhisperConfig config)
    {
        _factory = WhisperFactory.FromPath(path);
        _threads = threads;
        MaxAudioContext = config.MaxSourcePositions;
    }

    public int MaxAudioContext { get; }

    public string Library => RuntimeOptions.LoadedLibrary?.ToString() ?? "?";

    /// <param name="Seconds">Processing time, processor construction excluded.</param>
    /// <param name="EncoderBeginSeconds">When whisper.cpp's encoder started, from the start of processing (mel spectrogram before it).</param>
    /// <param name="Tokens">Tokens in the segments whisper.cpp returned.</param>
    public sealed record RunResult(double Seconds, double EncoderBeginSeconds, int Tokens);

    public RunResult Run(float[] audio, int maxTokens, int audioContext, string? prompt)
    {
        long start = 0;
        double encoderBegin = double.NaN;
        var builder = _factory.CreateBuilder()
            .WithThreads(_threads)
            .WithLanguage("en")
            .WithTemperature(0)
            .WithTemperatureInc(0)
            .WithNoContext()
            .WithSingleSegment()
            .WithMaxTokensPerSegment(maxTokens)
            .WithEncoderBeginHandler(_ =>
            {
                encoderBegin = Stopwatch.GetElapsedTime(start).TotalSeconds;
                return true;
            });
        if (audioContext > 0) builder.WithAudioContextSize(Math.Min(audioContext, MaxAudioContext));
        if (!string.IsNullOrWhiteSpace(prompt)) builder.WithPrompt(prompt);
        using var processor = builder.Build();
        int tokens = 0;
        start = Stopwatch.GetTimestamp();
        foreach (var segment in processor.ProcessAsync(audio).ToBlockingEnumerable()) tokens += segment.Tokens.Length;
        return new RunResult(Stopwatch.GetElapsedTime(start).TotalSeconds, encoderBegin, tokens);
    }

    public void Dispose() => _factory.Dispose();
}
