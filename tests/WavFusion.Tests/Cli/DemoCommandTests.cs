using System.Diagnostics;
using System.Text.Json.Nodes;
using WavFusion.Api.V1;
using WavFusion.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WavFusion.Tests.Cli;

/// <summary>
/// The main job (`wavfusion demo`): the whole live pipeline on the bundled clip, end to end through the built and the
/// published CLI. Labels and the model version are read from the bundled model, not written down here.
/// </summary>
public sealed class DemoCommandTests(ITestOutputHelper output)
{
    private static string DemoModel => Path.Combine(RepoPaths.Root, "models", "wavfusion-demo");

    internal static (string[] Labels, string Version) BundledModel()
    {
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(DemoModel, "checkpoint.json")))!;
        return (manifest["labels"]!.AsArray().Select(l => (string)l!).ToArray(), (string)manifest["model_version"]!);
    }

    private static List<StreamingRecognizeResponse> Events(ProcessResult run) =>
        run.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => StreamingRecognizeResponse.Parser.ParseJson(line)).ToList();

    /// <summary>
    /// Checks a session's events in stream time: speech begins and ends alternate with rising offsets; every result lies
    /// inside its utterance (it starts at or after the begin); interim results end later and later; each utterance is
    /// closed by exactly one final result ending where it ends, before its end event; labels and version from the model.
    /// </summary>
    internal static void AssertWellFormedSession(IReadOnlyList<StreamingRecognizeResponse> events, string[] labels, string version)
    {
        Assert.All(events, e => Assert.Equal(events[0].SessionId, e.SessionId));
        long lastSpeech = long.MinValue, lastInterimEnd = long.MinValue;
        bool inUtterance = false;
        EmotionResult? final = null;
        int utterances = 0;
        foreach (var e in events)
        {
            if (e.SpeechEvent is { } speech)
            {
                Assert.True(speech.OffsetMs >= lastSpeech, $"speech event at {speech.OffsetMs} ms after one at {lastSpeech} ms");
                lastSpeech = speech.OffsetMs;
                bool begin = speech.Type == SpeechEvent.Types.Type.SpeechBegin;
                Assert.True(begin != inUtterance, $"{speech.Type} at {speech.OffsetMs} ms: begins and ends do not alternate");
                if (!begin)
                {
                    Assert.True(final is not null, $"the utterance ending at {speech.OffsetMs} ms has no final result");
                    Assert.Equal(speech.OffsetMs, final!.EndOffsetMs);
                    utterances++;
                }
                inUtterance = begin;
                final = null;
                lastInterimEnd = long.MinValue;
                continue;
            }
            var r = e.Result;
            Assert.True(inUtterance, $"a result at {r.StartOffsetMs}-{r.EndOffsetMs} ms outside an utterance");
            Assert.True(r.StartOffsetMs >= lastSpeech, $"a result starting at {r.StartOffsetMs} ms, before its utterance began at {lastSpeech} ms");
            Assert.True(r.EndOffsetMs > r.StartOffsetMs);
            if (!r.IsFinal)
            {
                Assert.True(r.EndOffsetMs > lastInterimEnd, $"an interim result ending at {r.EndOffsetMs} ms after one ending at {lastInterimEnd} ms");
                lastInterimEnd = r.EndOffsetMs;
            }
            Assert.Equal(labels, r.Fused.Select(s => s.Label));
            Assert.Contains(r.TopLabel, labels);
            Assert.Equal(version, r.ModelVersion);
            Assert.InRange(r.Fused.Sum(s => s.Probability), 0.999, 1.001);
            if (r.IsFinal)
            {
                Assert.True(final is null || final.EndOffsetMs <= r.StartOffsetMs, "final results of one utterance overlap");
                final = r;
            }
        }
        Assert.False(inUtterance, "the stream ended inside an utterance");
        Assert.True(utterances > 0, "no utterance");
    }

    [Fact]
    public void Demo_json_runs_the_live_pipeline_on_the_bundled_clip()
    {
        using var dir = new TempDir();
        // From a folder outside the repository, so the clip, config and models are found from the app's location.
        var run = ProcessRunner.Run("dotnet", [ProcessRunner.CliDll, "demo", "--json"], workingDirectory: dir.Path);
        Assert.True(run.ExitCode == 0, run.All);
        var events = Events(run);
        var (labels, version) = BundledModel();
        AssertWellFormedSession(events, labels, version);
        var results = events.Where(e => e.Result is not null).Select(e => e.Result).ToList();
        // The clip has five sentences with a face throughout, and a transcript beside it.
        Assert.Equal(5, events.Count(e => e.SpeechEvent?.Type == SpeechEvent.Types.Type.SpeechEnd));
        Assert.Contains(results, r => r.ModalitiesPresent.Visual);
        Assert.Contains(results, r => r.ModalitiesPresent.Text && r.Transcript.Length > 0);
        Assert.All(results.Where(r => r.IsFinal), r => Assert.True(r.ModalitiesPresent is { Audio: true, Text: true, Visual: true }, $"final {r.StartOffsetMs} ms: {r.ModalitiesPresent}"));
        // Per-modality scores come with final results (config batcher.per_modality_interim is off).
        Assert.All(results.Where(r => r.IsFinal && (r.ModalitiesPresent.Text || r.ModalitiesPresent.Visual)), r => Assert.NotEmpty(r.PerModality));
        Assert.All(results.Where(r => !r.IsFinal), r => Assert.Empty(r.PerModality));
        Assert.Contains("summary:", run.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Demo_console_readout_plays_the_clip_in_real_time()
    {
        var watch = Stopwatch.StartNew();
        var run = ProcessRunner.Cli("demo");
        watch.Stop();
        output.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s for the 27 s clip\n{run.All}");
        Assert.True(run.ExitCode == 0, run.All);
        // Not a terminal here, so the readout prints one line per final result.
        var finals = run.StdOut.Split('\n').Where(l => l.Contains(" final ", StringComparison.Ordinal)).ToList();
        Assert.Equal(5, finals.Count);
        Assert.All(finals, l => Assert.Contains("[audio+text+face]", l, StringComparison.Ordinal));
        Assert.Contains("DEMO MODEL: trained on synthetic SynthEmo data only", run.StdOut, StringComparison.Ordinal);
        Assert.Contains("summary: ", run.StdErr, StringComparison.Ordinal);
        // Paced like a live stream: the last sentence ends 26.5 s in, so the run cannot be much shorter (a lower bound only).
        Assert.True(watch.Elapsed > TimeSpan.FromSeconds(25), $"the real-time demo took {watch.Elapsed.TotalSeconds:F1} s for a 27 s clip");
    }

    [Fact]
    public void Demo_takes_the_users_own_audio()
    {
        var run = ProcessRunner.Cli("demo", "--json", "--audio", Path.Combine(RepoPaths.Samples, "jfk.flac"), "--window", "2", "--hop", "0.5");
        Assert.True(run.ExitCode == 0, run.All);
        var events = Events(run);
        var (labels, version) = BundledModel();
        AssertWellFormedSession(events, labels, version);
        var results = events.Where(e => e.Result is not null).Select(e => e.Result).ToList();
        // No video and no transcript beside jfk.flac: audio alone, and --window bounds the interim windows.
        Assert.All(results, r => Assert.True(r.ModalitiesPresent is { Audio: true, Text: false, Visual: false }));
        Assert.All(results.Where(r => !r.IsFinal), r => Assert.InRange(r.EndOffsetMs - r.StartOffsetMs, 1, 2000));
        Assert.Contains(results, r => !r.IsFinal && r.EndOffsetMs - r.StartOffsetMs == 2000);
    }

    [Fact]
    public void Demo_names_missing_files()
    {
        var missing = ProcessRunner.Cli("demo", "--audio", "/nonexistent/x.wav");
        Assert.Equal(1, missing.ExitCode);
        Assert.StartsWith("error: /nonexistent/x.wav: audio file not found", missing.StdErr.Trim(), StringComparison.Ordinal);
        var video = ProcessRunner.Cli("demo", "--video", "/nonexistent/v.mp4");
        Assert.Equal(1, video.ExitCode);
        Assert.StartsWith("error: /nonexistent/v.mp4: video file not found", video.StdErr.Trim(), StringComparison.Ordinal);
        var transcript = ProcessRunner.Cli("demo", "--transcript-file", "/nonexistent/t.json");
        Assert.Equal(1, transcript.ExitCode);
        Assert.StartsWith("error: /nonexistent/t.json: transcript file not found", transcript.StdErr.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public void Published_app_finds_its_bundled_clip_configuration_and_models()
    {
        using var dir = new TempDir();
        string app = Path.Combine(dir.Path, "app");
        var publish = ProcessRunner.Run("dotnet",
            ["publish", Path.Combine(RepoPaths.Root, "src", "WavFusion.Cli", "WavFusion.Cli.csproj"), "-c", ProcessRunner.Configuration, "--no-build", "-o", app, "--nologo", "-v", "q"],
            timeout: TimeSpan.FromMinutes(4));
        Assert.True(publish.ExitCode == 0, publish.All);
        foreach (var file in new[]
                 {
                     "config/wavfusion-demo.json", "config/live.json", "models/wavfusion-demo/checkpoint.json", "models/wavfusion-demo/text-encoder/vocab.json",
                     "models/silero-vad/silero_vad.onnx", "samples/demo-clip.mp4", "samples/demo-clip.transcript.json", "samples/README.md",
                 })
            Assert.True(File.Exists(Path.Combine(app, file)), $"{file} is not published with the app");
        var run = ProcessRunner.Run(Path.Combine(app, "wavfusion"), ["demo", "--json"], workingDirectory: dir.Path);
        Assert.True(run.ExitCode == 0, run.All);
        var (labels, version) = BundledModel();
        AssertWellFormedSession(Events(run), labels, version);
    }
}
