using WavFusion.Core.Audio;
using WavFusion.Live.Pipeline;
using WavFusion.Live.Stages;
using WavFusion.Media;
using WavFusion.Tests.Infrastructure;

using Xunit.Abstractions;

namespace WavFusion.Tests.Live.Stages;

public sealed class SileroVoiceActivityDetectorTests(ITestOutputHelper output)
{
    private static string ModelPath => Path.Combine(RepoPaths.Root, "models", "silero-vad", "silero_vad.onnx");

    private static readonly VadOptions Options = new();

    private static float[] Jfk()
    {
        Skip.IfNot(Tools.Has("ffmpeg"), "ffmpeg is not installed: samples/jfk.flac cannot be decoded");
        return AudioFile.Load(Path.Combine(RepoPaths.Samples, "jfk.flac"), AudioChunk.SampleRate).Samples;
    }

    /// <summary>Feeds <paramref name="audio"/> in chunks of <paramref name="chunkSamples"/> and returns every decision.</summary>
    private static List<SpeechActivity> Run(SileroVoiceActivityDetector vad, float[] audio, int chunkSamples)
    {
        var decisions = new List<SpeechActivity>();
        for (int at = 0; at < audio.Length; at += chunkSamples)
        {
            var samples = audio.AsSpan(at, Math.Min(chunkSamples, audio.Length - at)).ToArray();
            decisions.Add(vad.Detect(new AudioChunk(samples, TimeSpan.FromSeconds(at / (double)AudioChunk.SampleRate))));
        }
        return decisions;
    }

    /// <summary>Speech segments as the stages see them: a begin or end at the Start of each decision that changes the state.</summary>
    private static List<(double Start, double End)> Segments(List<SpeechActivity> decisions)
    {
        var segments = new List<(double, double)>();
        bool speech = false;
        double begin = 0;
        foreach (var d in decisions)
        {
            if (d.IsSpeech == speech) continue;
            speech = d.IsSpeech;
            if (speech) begin = d.Start.TotalSeconds;
            else segments.Add((begin, d.Start.TotalSeconds));
        }
        if (speech) segments.Add((begin, decisions[^1].End.TotalSeconds));
        return segments;
    }

    private static double Rms(float[] audio, int from, int count)
    {
        double sum = 0;
        for (int i = from; i < from + count; i++) sum += audio[i] * audio[i];
        return Math.Sqrt(sum / count);
    }

    /// <summary>RMS over the given spans of seconds.</summary>
    private static double Level(float[] audio, IEnumerable<(double Start, double End)> spans)
    {
        double sum = 0;
        long count = 0;
        foreach (var (start, end) in spans)
            for (int i = (int)(start * AudioChunk.SampleRate); i < Math.Min(audio.Length, (int)(end * AudioChunk.SampleRate)); i++, count++)
                sum += audio[i] * audio[i];
        return Math.Sqrt(sum / Math.Max(1, count));
    }

    private static IEnumerable<(double Start, double End)> Pauses(List<(double Start, double End)> segments) =>
        segments.Zip(segments.Skip(1), (a, b) => (a.End, b.Start));

    [Fact]
    public void The_model_signature_is_read_from_the_session_metadata()
    {
        using var model = new SileroVadModel(ModelPath);
        Assert.Equal("input", model.AudioInput);
        Assert.Equal("state", model.StateInput);
        Assert.Equal("sr", model.SampleRateInput);
        Assert.Equal("output", model.ProbabilityOutput);
        Assert.Equal("stateN", model.StateOutput);
        Assert.Equal([2L, 1, 128], model.StateShape);
    }

    [SkippableFact]
    public void Jfk_is_found_as_phrases_of_speech_with_the_pauses_between_them()
    {
        var audio = Jfk();
        using var vad = new SileroVoiceActivityDetector(ModelPath, Options);
        Run(vad, audio, 480);
        vad.Reset();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var segments = Segments(Run(vad, audio, 480));
        clock.Stop();
        double seconds = audio.Length / (double)AudioChunk.SampleRate;
        output.WriteLine($"{seconds:0.00} s, {vad.Frames} frames in {clock.Elapsed.TotalMilliseconds:0} ms ({1000 * clock.Elapsed.TotalMilliseconds / vad.Frames:0} µs a frame); speech: {string.Join(", ", segments.Select(s => $"{s.Start:0.000}-{s.End:0.000}"))}");

        Assert.True(segments.Count >= 2, $"expected the pauses between phrases to split the speech, got {segments.Count} segment(s)");
        double speech = segments.Sum(s => s.End - s.Start);
        Assert.True(speech > 0.6 * seconds, $"speech covers {speech:0.00} s of {seconds:0.00} s");
        // Independent of the model: the first 20 ms frame loud enough to be a word, and the level in the pauses.
        double onset = Enumerable.Range(0, audio.Length / 320).First(f => Rms(audio, f * 320, 320) > 0.02) * 0.02;
        output.WriteLine($"first loud frame at {onset:0.00} s; level in speech {Level(audio, segments):0.0000}, in the pauses {Level(audio, Pauses(segments)):0.0000}");
        Assert.InRange(segments[0].Start, onset - 0.5, onset + 0.5);
        Assert.True(Level(audio, Pauses(segments)) < 0.25 * Level(audio, segments), "the pauses are not much quieter than the speech");
        Assert.All(segments, s => Assert.True(s.End - s.Start >= Options.MinSpeechMs / 1000.0, $"segment {s} is shorter than min_speech_ms"));
        for (int i = 1; i < segments.Count; i++)
            Assert.True(segments[i].Start - segments[i - 1].End >= Options.MinSilenceMs / 1000.0 - 1e-9, $"pause before segment {i} is shorter than min_silence_ms");
    }

    [SkippableFact]
    public void Decisions_are_deterministic_and_do_not_depend_on_how_the_audio_is_chunked()
    {
        var audio = Jfk();
        using var model = new SileroVadModel(ModelPath);
        using var vad = new SileroVoiceActivityDetector(model, Options);
        var first = Run(vad, audio, 480);
        vad.Reset();
        var again = Run(vad, audio, 480);
        Assert.Equal(first, again);

        // Frames, and so the speech boundaries, fall at the same stream times whatever the chunk size.
        using var other = new SileroVoiceActivityDetector(model, Options);
        Assert.Equal(Segments(first), Segments(Run(other, audio, 4000)));
    }

    [SkippableFact]
    public async Task Jfk_through_the_stage_and_the_assembler_gives_one_final_window_per_phrase()
    {
        var audio = Jfk();
        using var vad = new SileroVoiceActivityDetector(ModelPath, Options);
        var expected = Segments(Run(vad, audio, 512));
        vad.Reset();

        var capture = System.Threading.Channels.Channel.CreateUnbounded<AudioChunk>();
        for (int at = 0; at < audio.Length; at += 512)
            capture.Writer.TryWrite(new AudioChunk(audio.AsSpan(at, Math.Min(512, audio.Length - at)).ToArray(), TimeSpan.FromSeconds(at / 16000.0)));
        capture.Writer.Complete();
        var voiced = new ChannelPolicy { Capacity = 256, FullMode = FullMode.Wait }.Create<VoicedChunk>("voiced_audio");
        var windows = System.Threading.Channels.Channel.CreateUnbounded<EmotionWindow>();
        var assembling = new WindowAssembler(new WindowOptions(), new TranscriptTimeline(), new FaceTimeline()).RunAsync(voiced.Reader, windows.Writer);
        await new VoiceActivityStage(vad, [voiced.Writer]).RunAsync(capture.Reader);
        await assembling;

        var all = new List<EmotionWindow>();
        await foreach (var w in windows.Reader.ReadAllAsync()) all.Add(w);
        output.WriteLine(string.Join(", ", all.Select(w => $"{w.Start.TotalSeconds:0.000}-{w.End.TotalSeconds:0.000}{(w.IsFinal ? " final" : "")}")));
        Assert.Equal(expected, all.Where(w => w.IsFinal).Select(w => (w.Start.TotalSeconds, w.End.TotalSeconds)));
        Assert.Contains(all, w => !w.IsFinal);
    }

    [Fact]
    public void Silence_and_low_noise_are_not_speech()
    {
        using var vad = new SileroVoiceActivityDetector(ModelPath, Options);
        var silence = new float[5 * AudioChunk.SampleRate];
        Assert.DoesNotContain(Run(vad, silence, 512), d => d.IsSpeech);

        vad.Reset();
        var random = new Random(7);
        var noise = Enumerable.Range(0, 5 * AudioChunk.SampleRate).Select(_ => (float)(0.003 * (random.NextDouble() * 2 - 1))).ToArray();
        var decisions = Run(vad, noise, 512);
        output.WriteLine($"noise: highest probability {decisions.Max(d => d.Probability):0.000}");
        Assert.DoesNotContain(decisions, d => d.IsSpeech);
    }

    [Fact]
    public void A_missing_model_file_is_named_in_the_error()
    {
        string path = Path.Combine(Path.GetTempPath(), "no-such-dir", "silero_vad.onnx");
        var e = Assert.Throws<FileNotFoundException>(() => new SileroVoiceActivityDetector(path, Options));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_corrupt_model_file_is_named_in_the_error()
    {
        using var dir = new TempDir();
        string path = dir.File("silero_vad.onnx");
        var bytes = File.ReadAllBytes(ModelPath);
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length / 3).ToArray());
        var e = Assert.Throws<InvalidDataException>(() => new SileroVoiceActivityDetector(path, Options));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
    }
}
