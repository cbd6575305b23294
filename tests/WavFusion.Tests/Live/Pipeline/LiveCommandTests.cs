using WavFusion.Api.V1;
using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Live.Pipeline;

/// <summary>`wavfusion live` end to end on the bundled clip: microphone-less, camera-less, through the real CLI.</summary>
public sealed class LiveCommandTests
{
    private static string Sample(string name) => Path.Combine(RepoPaths.Samples, name);

    [Fact]
    public void Live_json_events_parse_as_the_proto_and_every_utterance_ends_with_a_final_result()
    {
        var run = ProcessRunner.Cli("live", "--audio-file", Sample("demo-clip.mp4"), "--camera", Sample("demo-clip.mp4"),
            "--transcript-file", Sample("demo-clip.transcript.json"), "--json");
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}\n{run.StdErr}");
        var events = run.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => StreamingRecognizeResponse.Parser.ParseJson(line)).ToList();
        var results = events.Where(e => e.Result is not null).Select(e => e.Result).ToList();
        var ends = events.Where(e => e.SpeechEvent?.Type == SpeechEvent.Types.Type.SpeechEnd).ToList();
        var (labels, version) = WavFusion.Tests.Cli.DemoCommandTests.BundledModel();

        Assert.NotEmpty(results);
        Assert.All(results, r => Assert.Contains(r.TopLabel, labels));
        Assert.All(results, r => Assert.Equal(labels, r.Fused.Select(s => s.Label)));
        Assert.All(results, r => Assert.True(r.EndOffsetMs > r.StartOffsetMs));
        var finals = results.Where(r => r.IsFinal).ToList();
        Assert.Equal(ends.Count, finals.Count);
        Assert.True(finals.Zip(finals.Skip(1)).All(p => p.First.EndOffsetMs <= p.Second.StartOffsetMs), "final results overlap or go back in time");
        Assert.True(finals.Zip(ends).All(p => p.First.EndOffsetMs == p.Second.SpeechEvent.OffsetMs), "a final result does not end where its utterance ends");
        Assert.Contains(results, r => r.ModalitiesPresent.Visual);
        Assert.Contains(results, r => r.ModalitiesPresent.Text && r.Transcript.Length > 0);
        // Per-modality scores come with final results (config batcher.per_modality_interim is off).
        Assert.All(results.Where(r => r.IsFinal && (r.ModalitiesPresent.Text || r.ModalitiesPresent.Visual)), r => Assert.NotEmpty(r.PerModality));
        Assert.All(results.Where(r => !r.IsFinal), r => Assert.Empty(r.PerModality));
        Assert.All(results, r => Assert.Equal(version, r.ModelVersion));
        WavFusion.Tests.Cli.DemoCommandTests.AssertWellFormedSession(events, labels, version);
        Assert.Contains("summary:", run.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Silence_gives_no_windows_and_no_events()
    {
        using var dir = new TempDir();
        string silence = dir.File("silence.wav");
        var sox = ProcessRunner.Run("sox", ["-n", "-r", "16000", "-c", "1", "-b", "16", silence, "trim", "0", "5"]);
        Assert.True(sox.ExitCode == 0, sox.StdErr);
        var run = ProcessRunner.Cli("live", "--audio-file", silence, "--json");
        Assert.True(run.ExitCode == 0, $"exit {run.ExitCode}\n{run.StdErr}");
        Assert.Equal("", run.StdOut.Trim());
        Assert.Contains("summary: 0 results", run.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_audio_file_or_bad_duration_is_one_error_line()
    {
        var missing = ProcessRunner.Cli("live", "--audio-file", "/nonexistent/clip.wav", "--json");
        Assert.Equal(1, missing.ExitCode);
        Assert.StartsWith("error: /nonexistent/clip.wav: audio file not found", missing.StdErr.Trim(), StringComparison.Ordinal);
        var duration = ProcessRunner.Cli("live", "--audio-file", Sample("demo-clip.mp4"), "--duration", "-1");
        Assert.Equal(2, duration.ExitCode);
        Assert.StartsWith("error: --duration:", duration.StdErr.Trim(), StringComparison.Ordinal);
    }
}
