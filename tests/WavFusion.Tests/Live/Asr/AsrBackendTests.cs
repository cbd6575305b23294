using System.Diagnostics;
using Whisper.net;
using WavFusion.Core.Audio;
using WavFusion.Core.Checkpoints;
using WavFusion.Live.Asr;
using WavFusion.Media;
using WavFusion.Speech.Decoding;
using WavFusion.Speech.Streaming;
using WavFusion.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WavFusion.Tests.Live.Asr;

/// <summary>
/// Both recognisers on the same ggml fixture. Its weights are random, so the words are gibberish: what is checked is
/// structure (words with ordered, in-range times; segments in stream time), which is what LocalAgreement relies on.
/// </summary>
public sealed class AsrBackendTests(ITestOutputHelper output)
{
    private static string FixtureFolder => Path.Combine(RepoPaths.ReferenceFixtures, "whisper-tiny-random");
    private static string Ggml => Path.Combine(FixtureFolder, "ggml-model.bin");
    private const double AudioSeconds = 5.0;

    private static readonly Lazy<float[]?> Jfk = new(() =>
    {
        if (!Tools.Has("ffmpeg")) return null;
        var clip = AudioFile.Load(Path.Combine(RepoPaths.Samples, "jfk.flac"), 16000);
        return clip.Samples[..(int)(AudioSeconds * 16000)];
    });

    /// <summary>Why whisper.cpp cannot run here, or null when it can.</summary>
    private static readonly Lazy<string?> WhisperNetProblem = new(() =>
    {
        if (!File.Exists(Ggml)) return $"{Ggml} is absent";
        try
        {
            using var factory = WhisperFactory.FromPath(Ggml);
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return $"Whisper.net's native runtime does not load here: {e.GetType().Name}: {e.Message}";
        }
    });

    private static void SkipUnlessRunnable(AsrBackendKind kind)
    {
        Skip.IfNot(File.Exists(Ggml), $"{Ggml} is absent");
        Skip.If(Jfk.Value is null, "ffmpeg is not on PATH (samples/jfk.flac is FLAC)");
        if (kind == AsrBackendKind.WhisperNet) Skip.If(WhisperNetProblem.Value is not null, WhisperNetProblem.Value);
    }

    private static IAsrBackend Load(AsrBackendKind kind, string? path = null) =>
        AsrBackends.Load(kind, path ?? Ggml, new AsrOptions { Language = "en", Threads = 2 });

    private static void AssertOrderedInside(IReadOnlyList<TimedWord> words, double seconds)
    {
        double previous = 0;
        foreach (var w in words)
        {
            Assert.False(string.IsNullOrWhiteSpace(w.Text));
            Assert.True(w.Start >= previous - 1e-9, $"'{w.Text}' starts at {w.Start}, before the previous word's start {previous}");
            Assert.True(w.End >= w.Start, $"'{w.Text}' ends at {w.End}, before its start {w.Start}");
            Assert.True(w.Start >= 0 && w.End <= seconds + 1e-9, $"'{w.Text}' [{w.Start}, {w.End}] is outside the {seconds} s buffer");
            previous = w.Start;
        }
    }

    [SkippableTheory]
    [InlineData(AsrBackendKind.TorchSharp)]
    [InlineData(AsrBackendKind.WhisperNet)]
    public async Task Each_backend_loads_the_fixture_and_gives_words_in_order_inside_the_buffer(AsrBackendKind kind)
    {
        SkipUnlessRunnable(kind);
        using var backend = Load(kind);
        Assert.Equal(kind, backend.Kind);
        Assert.True(backend.Special.IsMultilingual);
        var clock = Stopwatch.StartNew();
        var words = await backend.TranscribeAsync(Jfk.Value!, "", CancellationToken.None);
        double unprompted = clock.Elapsed.TotalSeconds;
        clock.Restart();
        var prompted = await backend.TranscribeAsync(Jfk.Value!, "And so, my fellow Americans", CancellationToken.None);
        output.WriteLine($"{backend.Description}: {words.Count} words in {unprompted:F2} s, {prompted.Count} with a prompt in {clock.Elapsed.TotalSeconds:F2} s");
        output.WriteLine(string.Join(' ', words.Select(w => $"{w.Text}[{w.Start:F2}-{w.End:F2}]")));
        Assert.NotEmpty(words);
        AssertOrderedInside(words, AudioSeconds);
        AssertOrderedInside(prompted, AudioSeconds);
    }

    [SkippableTheory]
    [InlineData(AsrBackendKind.TorchSharp)]
    [InlineData(AsrBackendKind.WhisperNet)]
    public async Task The_streaming_transcriber_runs_over_each_backend_and_yields_segments_in_stream_time(AsrBackendKind kind)
    {
        SkipUnlessRunnable(kind);
        using var backend = Load(kind);
        var transcriber = new StreamingTranscriber(backend);
        const double offset = 100.0;
        var audio = Jfk.Value!;
        var chunks = Enumerable.Range(0, (int)AudioSeconds)
            .Select(i => new AudioChunk(audio[(i * 16000)..((i + 1) * 16000)], TimeSpan.FromSeconds(offset + i)));
        var segments = new List<TranscriptSegment>();
        await foreach (var s in transcriber.TranscribeAsync(chunks.ToAsyncEnumerable())) segments.Add(s);

        output.WriteLine($"{backend.Description}: {transcriber.Steps} steps");
        foreach (var s in segments) output.WriteLine($"[{s.Start.TotalSeconds:F2} --> {s.End.TotalSeconds:F2}] {(s.IsFinal ? "final" : "interim")} {s.Text}");
        Assert.True(transcriber.Steps >= 3, $"only {transcriber.Steps} steps over {AudioSeconds} s of speech");
        Assert.Contains(segments, s => s.IsFinal);
        Assert.All(segments, s =>
        {
            Assert.True(s.Start <= s.End, $"segment [{s.Start}, {s.End}] ends before it starts");
            Assert.InRange(s.Start.TotalSeconds, offset, offset + AudioSeconds);
            Assert.InRange(s.End.TotalSeconds, offset, offset + AudioSeconds);
        });
        var finals = segments.Where(s => s.IsFinal).ToList();
        for (int i = 1; i < finals.Count; i++)
            Assert.True(finals[i].Start >= finals[i - 1].Start, $"final segment {i} starts at {finals[i].Start}, before final {i - 1} at {finals[i - 1].Start}");
        Assert.Equal(string.Join(' ', finals.Select(s => s.Text)), string.Join(' ', transcriber.Agreement.Committed.Select(w => w.Text)));
    }

    [SkippableFact]
    public async Task Whisper_net_loads_every_quantised_variant_of_the_fixture()
    {
        SkipUnlessRunnable(AsrBackendKind.WhisperNet);
        var files = Directory.GetFiles(FixtureFolder, "ggml-model*.bin").Order(StringComparer.Ordinal).ToList();
        Assert.True(files.Count >= 6, $"expected the F16 file and five quantised variants, found {files.Count}");
        foreach (var file in files)
        {
            using var backend = Load(AsrBackendKind.WhisperNet, file);
            var words = await backend.TranscribeAsync(Jfk.Value![..(2 * 16000)], "", CancellationToken.None);
            output.WriteLine($"{Path.GetFileName(file)}: {words.Count} words");
            AssertOrderedInside(words, 2.0);
        }
    }

    [SkippableTheory]
    [InlineData(AsrBackendKind.TorchSharp)]
    [InlineData(AsrBackendKind.WhisperNet)]
    public void A_file_that_is_not_a_whisper_model_fails_naming_the_file(AsrBackendKind kind)
    {
        if (kind == AsrBackendKind.WhisperNet) Skip.If(WhisperNetProblem.Value is not null, WhisperNetProblem.Value);
        using var dir = new TempDir();
        string noise = dir.File("noise.bin");
        var bytes = new byte[4096];
        new Random(5).NextBytes(bytes);
        File.WriteAllBytes(noise, bytes);
        var e = Assert.Throws<CheckpointException>(() => Load(kind, noise));
        Assert.Contains(noise, e.Message, StringComparison.Ordinal);
        Assert.Contains("not a whisper.cpp ggml model", e.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Whisper_net_refuses_a_truncated_ggml_file_before_whisper_cpp_reads_it()
    {
        Skip.If(WhisperNetProblem.Value is not null, WhisperNetProblem.Value);
        using var dir = new TempDir();
        var whole = File.ReadAllBytes(Ggml);
        string cut = dir.File("cut.bin");
        File.WriteAllBytes(cut, whole[..(whole.Length * 2 / 3)]);
        var e = Assert.Throws<CheckpointException>(() => Load(AsrBackendKind.WhisperNet, cut));
        Assert.Contains("cut.bin: truncated", e.Message, StringComparison.Ordinal);
        Assert.Throws<CheckpointException>(() => Load(AsrBackendKind.WhisperNet, dir.Path));
    }

    [Fact]
    public void Backend_names_and_languages_are_checked_naming_the_option()
    {
        Assert.Equal(AsrBackendKind.WhisperNet, AsrBackends.Parse("whispernet"));
        Assert.Equal(AsrBackendKind.TorchSharp, AsrBackends.Parse("TorchSharp"));
        Assert.Equal("--asr", Assert.Throws<AsrOptionException>(() => AsrBackends.Parse("vosk")).Option);
        var english = WavFusion.Models.Whisper.WhisperSpecialTokens.ForVocabulary(51864);
        Assert.Equal("--language", Assert.Throws<AsrOptionException>(() => AsrBackends.CheckLanguage("de", english)).Option);
        AsrBackends.CheckLanguage("en", english);
    }
}
