using System.Text.Json.Nodes;
using WavFusion.Core.Audio;
using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Cli;

/// <summary>
/// What users type, through the built CLI: every bad option value and unusable file gives one `error:` line naming
/// the option or file, a non-zero exit, and never a stack trace unless --verbose asks for it.
/// </summary>
public sealed class BadInputTests
{
    private static string DemoModel => Path.Combine(RepoPaths.Root, "models", "wavfusion-demo");

    private static void AssertOneLineError(ProcessResult r, int exitCode, string names)
    {
        Assert.True(r.ExitCode == exitCode, $"exit {r.ExitCode}, expected {exitCode}: {r.All}");
        var lines = r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"stderr is not one line: {r.StdErr}");
        Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(names, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", r.All, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.All, StringComparison.Ordinal);
    }

    private static string Wav(TempDir dir, string name, int samples)
    {
        string path = dir.File(name);
        WavFile.Write(path, new AudioClip(Enumerable.Range(0, samples).Select(i => (float)Math.Sin(i * 0.07) * 0.3f).ToArray(), 16000));
        return path;
    }

    private static string RandomBytes(TempDir dir, string name)
    {
        var bytes = new byte[4096];
        new Random(11).NextBytes(bytes);
        File.WriteAllBytes(dir.File(name), bytes);
        return dir.File(name);
    }

    [Theory]
    [InlineData("--hop", "1e-9", "less than one sample")]
    [InlineData("--hop", "NaN", "between 0 and 600")]
    [InlineData("--hop", "1e308", "between 0 and 600")]
    [InlineData("--window", "NaN", "between 0 and 600")]
    [InlineData("--window", "1e308", "between 0 and 600")]
    [InlineData("--window", "-Infinity", "between 0 and 600")]
    [InlineData("--window", "0.001", "the model needs at least 400")]
    [InlineData("--window", "abc", "'--window'")]
    public void Demo_rejects_a_window_or_hop_it_cannot_use(string option, string value, string reason)
    {
        using var dir = new TempDir();
        var r = ProcessRunner.Cli("demo", "--audio", Wav(dir, "a.wav", 16000), option, value);
        AssertOneLineError(r, 2, option);
        Assert.Contains(reason, r.StdErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "invalid at $, line 1")]
    [InlineData("{}", "invalid at $, line 1")]
    [InlineData("[{\"start_ms\": 500, \"end_ms\": 100, \"text\": \"hi\"}]", "segment 0 needs text and 0 <= start_ms < end_ms")]
    public void Demo_names_a_transcript_file_it_cannot_use(string content, string reason)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("t.json"), content);
        var r = ProcessRunner.Cli("demo", "--audio", Wav(dir, "a.wav", 16000), "--transcript-file", dir.File("t.json"));
        AssertOneLineError(r, 1, "t.json: ");
        Assert.Contains(reason, r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Demo_says_a_missing_model_folder_does_not_exist()
    {
        AssertOneLineError(ProcessRunner.Cli("demo", "--model", "/nonexistent/model"), 1, "/nonexistent/model: folder does not exist");
    }

    [Fact]
    public void Demo_names_weights_that_are_not_safetensors()
    {
        using var dir = new TempDir();
        string model = dir.File("model");
        Directory.CreateDirectory(model);
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(DemoModel, "checkpoint.json")))!.AsObject();
        manifest.Remove("weights_sha256");
        File.WriteAllText(Path.Combine(model, "checkpoint.json"), manifest.ToJsonString());
        File.Copy(RandomBytes(dir, "noise"), Path.Combine(model, "model.safetensors"));
        var r = ProcessRunner.Cli("demo", "--model", model, "--audio", Wav(dir, "a.wav", 16000));
        AssertOneLineError(r, 1, $"{Path.Combine(model, "model.safetensors")}: not a safetensors file (header length");

        var cut = File.ReadAllBytes(Path.Combine(DemoModel, "model.safetensors"));
        File.WriteAllBytes(Path.Combine(model, "model.safetensors"), cut[..(cut.Length / 2)]);
        AssertOneLineError(ProcessRunner.Cli("demo", "--model", model, "--audio", Wav(dir, "a.wav", 16000)), 1, "model.safetensors: truncated");
    }

    [Fact]
    public void Demo_names_a_text_encoder_whose_pickle_calls_code()
    {
        using var dir = new TempDir();
        string model = dir.File("model");
        foreach (var file in Directory.GetFiles(DemoModel, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(model, Path.GetRelativePath(DemoModel, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        File.Delete(Path.Combine(model, "text-encoder", "model.safetensors"));
        File.Copy(Path.Combine(RepoPaths.TestData, "torch", "malicious.bin"), Path.Combine(model, "text-encoder", "pytorch_model.bin"));
        var r = ProcessRunner.Cli("demo", "--model", model, "--audio", Wav(dir, "a.wav", 16000));
        AssertOneLineError(r, 1, "pytorch_model.bin: data.pkl at byte");
        Assert.Contains("refused global", r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Demo_names_audio_without_samples()
    {
        using var dir = new TempDir();
        AssertOneLineError(ProcessRunner.Cli("demo", "--audio", Wav(dir, "silent.wav", 0)), 1, "silent.wav: no audio samples decoded");
    }

    [SkippableFact]
    public void Demo_and_transcribe_name_a_file_that_is_not_audio()
    {
        Skip.IfNot(Tools.Has("ffmpeg"), "ffmpeg is not on PATH");
        using var dir = new TempDir();
        string noise = RandomBytes(dir, "noise.wav");
        File.WriteAllBytes(dir.File("empty.flac"), []);
        AssertOneLineError(ProcessRunner.Cli("demo", "--audio", noise), 1, "noise.wav: not audio that ffmpeg can decode");
        AssertOneLineError(ProcessRunner.Cli("demo", "--audio", dir.File("empty.flac")), 1, "empty.flac: not audio that ffmpeg can decode");
        AssertOneLineError(ProcessRunner.Cli("transcribe", "--model", noise, noise), 1, "noise.wav: not audio that ffmpeg can decode");
    }

    [Theory]
    [InlineData("--threads", "0")]
    [InlineData("--threads", "-4")]
    [InlineData("--threads", "100000")]
    [InlineData("--beam", "0")]
    [InlineData("--beam", "1000")]
    public void Transcribe_rejects_thread_and_beam_counts_out_of_range(string option, string value)
    {
        using var dir = new TempDir();
        var r = ProcessRunner.Cli("transcribe", "--model", dir.Path, Wav(dir, "a.wav", 16000), option, value);
        AssertOneLineError(r, 2, $"{option}: {value} is outside 1..");
    }

    [Fact]
    public void Transcribe_names_a_model_that_is_not_a_whisper_file_or_folder()
    {
        using var dir = new TempDir();
        string wav = Wav(dir, "a.wav", 16000);
        AssertOneLineError(ProcessRunner.Cli("transcribe", "--model", RandomBytes(dir, "noise.bin"), wav), 1, "noise.bin: bad magic");
        AssertOneLineError(ProcessRunner.Cli("transcribe", "--model", dir.File("absent"), wav), 1, "absent: no Whisper model folder or ggml file here");
        AssertOneLineError(ProcessRunner.Cli("transcribe", "--model", dir.Path, Wav(dir, "silent.wav", 0)), 1, "silent.wav: audio has no samples");
    }

    [SkippableFact]
    public void Transcribe_names_an_unknown_language_and_verbose_adds_the_trace()
    {
        string ggml = Path.Combine(RepoPaths.ReferenceFixtures, "whisper-tiny-random", "ggml-model.bin");
        Skip.IfNot(File.Exists(ggml), $"{ggml} is absent");
        using var dir = new TempDir();
        string wav = Wav(dir, "a.wav", 16000);
        AssertOneLineError(ProcessRunner.Cli("transcribe", "--model", ggml, wav, "--language", "xx"), 2, "--language: 'xx' is not one of this model's 99 languages");

        var cut = File.ReadAllBytes(ggml);
        File.WriteAllBytes(dir.File("cut.bin"), cut[..(cut.Length / 3)]);
        AssertOneLineError(ProcessRunner.Cli("transcribe", "--model", dir.File("cut.bin"), wav), 1, "cut.bin: truncated");
        var verbose = ProcessRunner.Cli("transcribe", "--model", dir.File("cut.bin"), wav, "--verbose");
        Assert.Equal(1, verbose.ExitCode);
        Assert.StartsWith("error: ", verbose.StdErr, StringComparison.Ordinal);
        Assert.Contains("   at WavFusion.Models.Whisper.WhisperGgmlFile", verbose.StdErr, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Transcribe_names_a_weight_format_it_does_not_know_and_whispernet_refuses_packed_weights()
    {
        string ggml = Path.Combine(RepoPaths.ReferenceFixtures, "whisper-tiny-random", "ggml-model-q8_0.bin");
        Skip.IfNot(File.Exists(ggml), $"{ggml} is absent");
        using var dir = new TempDir();
        string wav = Wav(dir, "a.wav", 16000);
        AssertOneLineError(ProcessRunner.Cli("transcribe", "--model", ggml, wav, "--weights", "int4"), 2, "'int4' not recognized");
        AssertOneLineError(ProcessRunner.Cli("transcribe", "--model", ggml, wav, "--weights", "int8", "--asr", "whispernet"), 2,
            "--weights: int8 applies to the torchsharp backend");
        // A packed decoder on a Q8_0 file: the load line says what the weights take.
        var ok = ProcessRunner.Cli("transcribe", "--model", ggml, wav, "--weights", "int8", "--beam", "1", "--language", "en");
        Assert.True(ok.ExitCode == 0, ok.All);
        Assert.Contains("(int8 decoder)", ok.StdErr, StringComparison.Ordinal);
        Assert.Contains("decoder int8:", ok.StdErr, StringComparison.Ordinal);
    }
}
