using TorchSharp;
using WavFusion.Cli.Bench;
using WavFusion.Core.Quantization;
using WavFusion.Models.Whisper;
using Xunit.Abstractions;

namespace WavFusion.Tests.Cli;

/// <summary>
/// The pieces `bench asr` measures with, on a small random model (the command itself runs tiny and base, which take
/// minutes): one file both engines load, token budgets whisper.cpp honours (so its per-token time is a difference over
/// counted tokens), and the streaming simulation driving both engines step for step. Times are printed, not asserted.
/// </summary>
public sealed class BenchAsrTests(ITestOutputHelper output)
{
    [SkippableFact]
    public void Both_engines_run_the_same_random_file_and_whisper_cpp_decodes_the_tokens_it_is_given()
    {
        var config = new WhisperConfig
        {
            NumMelBins = 80, MaxSourcePositions = 1500, DModel = 64, EncoderAttentionHeads = 2, EncoderLayers = 1, EncoderFfnDim = 256,
            DecoderAttentionHeads = 2, DecoderLayers = 1, DecoderFfnDim = 256, VocabSize = 51865, MaxTargetPositions = 448,
            DecoderStartTokenId = 50258, EosTokenId = 50257, PadTokenId = 50257,
        };
        using var dir = new Infrastructure.TempDir();
        string f16 = dir.File("f16.bin"), q8 = dir.File("q8.bin");
        AsrBenchmark.WriteRandomModel(config, f16, q8);

        WhisperCppRunner runner;
        try
        {
            runner = new WhisperCppRunner(f16, 2, config);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new SkipException($"Whisper.net's native runtime does not load here: {e.Message}");
        }
        using (runner)
        {
            var audio = BenchStream.SpeechSamples(30);
            var few = runner.Run(audio, 2, 0, null);
            var many = runner.Run(audio, 12, 0, null);
            output.WriteLine($"whisper.cpp: {few.Tokens} tokens in {few.Seconds:F2} s (encoder began at {few.EncoderBeginSeconds:F2} s), {many.Tokens} in {many.Seconds:F2} s");
            // The zeroed end-of-text row never wins, so whisper.cpp spends its whole budget: ten more tokens.
            Assert.Equal(10, many.Tokens - few.Tokens);
            Assert.InRange(few.EncoderBeginSeconds, 0, few.Seconds);

            var (model, file) = WhisperGgmlFile.LoadModel(f16, WeightFormat.Int8);
            file.Dispose();
            using (model)
            {
                model.eval();
                var ours = BenchStream.Run(model, 3, 1.0, 100);
                var theirs = BenchStream.RunWhisperCpp(runner, 3, 1.0);
                output.WriteLine($"ours int8: {ours}\nwhisper.cpp: {theirs}");
                Assert.Equal(ours.Steps, theirs.Steps);
                Assert.True(ours.Steps >= 3, $"{ours.Steps} steps for 3 s at 1 s steps");
                Assert.True(ours.TokensPerStep > 1 && theirs.TokensPerStep > 1, "both engines decode tokens every step");
            }
        }
    }
}
