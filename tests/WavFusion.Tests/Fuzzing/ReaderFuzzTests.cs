using System.Buffers.Binary;
using WavFusion.Fuzzing;
using WavFusion.Core.Audio;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.Whisper;
using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Cli;

/// <summary>The readers against damaged and lying files: a fixed-seed sample of what `wavfusion fuzz` runs by the ten thousand.</summary>
public sealed class ReaderFuzzTests
{
    [Theory]
    [InlineData("SafeTensors")]
    [InlineData("Torch")]
    [InlineData("Ggml")]
    [InlineData("Wav")]
    public void Mutants_are_read_or_refused_cleanly_in_time_and_memory(string format)
    {
        var r = ReaderFuzzer.Run(Enum.Parse<FuzzFormat>(format), cases: 300, seed: 20250101, timeout: TimeSpan.FromSeconds(5));
        Assert.True(r.Clean, $"{r.Crashed} crashed, {r.Hung} hung, {r.OverAllocated} over-allocated, {r.Unnamed} unnamed:{Environment.NewLine}{string.Join(Environment.NewLine, r.Examples)}");
        Assert.Equal(300, r.Ok + r.Rejected);
        // Many mutants must be refused, or the mutations are not reaching the checks (WAV readers rightly accept most damaged samples).
        Assert.True(r.Rejected >= 30, $"only {r.Rejected} of 300 refused");
    }

    [Fact]
    public void The_seeds_are_valid_files_so_that_refusals_come_from_the_damage()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("s.safetensors"), FuzzSeeds.SafeTensors(dir.Path));
        using (var st = SafeTensorsFile.Open(dir.File("s.safetensors"))) Assert.Equal(5, st.Entries.Count);
        File.WriteAllBytes(dir.File("t.bin"), FuzzSeeds.TorchZip(FuzzSeeds.TorchPickle()));
        var sd = TorchPickleReader.Read(dir.File("t.bin"));
        Assert.Equal(new[] { 0.5f, -1, 2, 3, 4, 5 }, sd["proj.weight"].data<float>().ToArray());
        Assert.Equal(new[] { -1f, 3 }, sd["proj.tied"].data<float>().ToArray());
        File.WriteAllBytes(dir.File("g.bin"), FuzzSeeds.Ggml());
        using (var g = WhisperGgmlFile.Read(dir.File("g.bin"))) Assert.Equal(5, g.Tensors.Count);
        foreach (var wav in FuzzSeeds.Wav()) Assert.Equal(16000, WavFile.Parse(wav, "seed").SampleRate);
    }

    [Fact]
    public void A_wav_chunk_size_near_int_max_ends_the_chunk_walk_instead_of_overflowing()
    {
        var wav = FuzzSeeds.Wav()[1];
        int list = wav.AsSpan().IndexOf("LIST"u8);
        BinaryPrimitives.WriteInt32LittleEndian(wav.AsSpan(list + 4), int.MaxValue - 7);
        var e = Assert.Throws<InvalidDataException>(() => WavFile.Parse(wav, "lying.wav"));
        Assert.Contains("lying.wav: WAVE file has no data chunk", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ggml_hyper_parameters_larger_than_the_file_are_refused_before_the_model_is_built()
    {
        using var dir = new TempDir();
        var ggml = FuzzSeeds.Ggml();
        BinaryPrimitives.WriteInt32LittleEndian(ggml.AsSpan(8), int.MaxValue); // n_audio_ctx
        File.WriteAllBytes(dir.File("lying.bin"), ggml);
        using var file = WhisperGgmlFile.Read(dir.File("lying.bin"));
        var e = Assert.Throws<CheckpointException>(() => file.CreateModel());
        Assert.Contains("lying.bin: the hyper-parameters describe a model of at least", e.Message, StringComparison.Ordinal);
    }
}
