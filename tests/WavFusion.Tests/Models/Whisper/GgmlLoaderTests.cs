using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Decoding;
using WavFusion.Speech.Streaming;
using WavFusion.Tests.Infrastructure;
using static TorchSharp.torch;

namespace WavFusion.Tests.Whisper;

public sealed class GgmlLoaderTests
{
    private static byte[] HalfBytes(float v) => BitConverter.GetBytes((Half)v);

    /// <summary>Quantised values 0..31 (or 0..15) in a fixed scramble so that nibble order and bit placement matter.</summary>
    private static int[] Codes(int levels) => Enumerable.Range(0, 32).Select(j => (j * 7 + 3) % levels).ToArray();

    [Fact]
    public void Q8_0_block_is_scale_times_signed_bytes()
    {
        var q = Enumerable.Range(0, 32).Select(j => (sbyte)(j * 8 - 127)).ToArray();
        var block = HalfBytes(0.5f).Concat(q.Select(v => (byte)v)).ToArray();
        var y = new float[32];
        GgmlDequantizer.Dequantize(GgmlType.Q8_0, block, y);
        for (int j = 0; j < 32; j++) Assert.Equal(q[j] * 0.5f, y[j]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Q4_blocks_put_low_nibbles_first_and_centre_or_offset(bool withMin)
    {
        var codes = Codes(16);
        var packed = Enumerable.Range(0, 16).Select(j => (byte)(codes[j] | (codes[j + 16] << 4))).ToArray();
        var header = withMin ? HalfBytes(0.25f).Concat(HalfBytes(-1.5f)) : HalfBytes(0.25f);
        var y = new float[32];
        GgmlDequantizer.Dequantize(withMin ? GgmlType.Q4_1 : GgmlType.Q4_0, header.Concat(packed).ToArray(), y);
        for (int j = 0; j < 32; j++) Assert.Equal(withMin ? codes[j] * 0.25f - 1.5f : (codes[j] - 8) * 0.25f, y[j]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Q5_blocks_take_the_fifth_bit_of_value_j_from_bit_j_of_qh(bool withMin)
    {
        var codes = Codes(32);
        uint qh = 0;
        for (int j = 0; j < 32; j++) qh |= (uint)((codes[j] >> 4) & 1) << j;
        var packed = Enumerable.Range(0, 16).Select(j => (byte)((codes[j] & 15) | ((codes[j + 16] & 15) << 4))).ToArray();
        var header = withMin ? HalfBytes(0.125f).Concat(HalfBytes(2f)) : HalfBytes(0.125f);
        var block = header.Concat(BitConverter.GetBytes(qh)).Concat(packed).ToArray();
        var y = new float[32];
        GgmlDequantizer.Dequantize(withMin ? GgmlType.Q5_1 : GgmlType.Q5_0, block, y);
        for (int j = 0; j < 32; j++) Assert.Equal(withMin ? codes[j] * 0.125f + 2f : (codes[j] - 16) * 0.125f, y[j]);
    }

    [Fact]
    public void Many_blocks_dequantise_in_parallel_the_same_as_one_by_one()
    {
        const int blocks = 10_000;
        var rng = new Random(5);
        var data = new byte[blocks * 34];
        rng.NextBytes(data);
        for (int b = 0; b < blocks; b++) HalfBytes((float)rng.NextDouble()).CopyTo(data, b * 34);
        var all = new float[blocks * 32];
        GgmlDequantizer.Dequantize(GgmlType.Q8_0, data, all);
        var one = new float[32];
        foreach (int b in new[] { 0, 4095, 4096, 9999 })
        {
            GgmlDequantizer.Dequantize(GgmlType.Q8_0, data, b * 34, one, 32);
            Assert.Equal(one, all.AsSpan(b * 32, 32).ToArray());
        }
    }

    [Fact]
    public void Written_file_reads_back_with_hparams_vocabulary_and_tensors_in_torch_order()
    {
        using var dir = new TempDir();
        var builder = new GgmlTestFileBuilder()
            .Tensor("encoder.conv1.bias", 0, [1, 2], GgmlTestFileBuilder.F32(1.5f, -2f))
            .Tensor("decoder.blocks.0.cross_attn.query.weight", 1, [2, 3], GgmlTestFileBuilder.F16(1, 2, 3, 4, 5, 6));
        File.WriteAllBytes(dir.File("m.bin"), builder.Build());
        using var file = WhisperGgmlFile.Read(dir.File("m.bin"));
        Assert.Equal(16, file.Hparams.NAudioState);
        Assert.Equal(3, file.Vocabulary.Count);
        Assert.Equal("t2"u8.ToArray(), file.Vocabulary[2]);
        Assert.Equal(8 * 201, file.MelFilters.Length);
        var w = file.Tensors["decoder.blocks.0.cross_attn.query.weight"];
        Assert.Equal(new long[] { 3, 2 }, w.Shape);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, w.Values.data<float>().ToArray());
        var hf = file.HuggingFaceStateDict();
        Assert.Equal(new long[] { 2 }, hf["model.encoder.conv1.bias"].shape);
        Assert.True(hf.ContainsKey("model.decoder.layers.0.encoder_attn.q_proj.weight"));
    }

    [Fact]
    public void Bad_magic_is_named()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("m.bin"), new GgmlTestFileBuilder { Magic = 0x12345678 }.Build());
        var e = Assert.Throws<CheckpointException>(() => WhisperGgmlFile.Read(dir.File("m.bin")));
        Assert.Contains("bad magic 0x12345678", e.Message, StringComparison.Ordinal);
        File.WriteAllBytes(dir.File("g.bin"), new GgmlTestFileBuilder { Magic = 0x46554747 }.Build());
        Assert.Contains("GGUF", Assert.Throws<CheckpointException>(() => WhisperGgmlFile.Read(dir.File("g.bin"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_tensor_is_named_with_the_bytes_missing()
    {
        using var dir = new TempDir();
        var bytes = new GgmlTestFileBuilder().Tensor("encoder.ln_post.weight", 0, [16], new byte[64]).Build();
        File.WriteAllBytes(dir.File("m.bin"), bytes[..^10]);
        var e = Assert.Throws<CheckpointException>(() => WhisperGgmlFile.Read(dir.File("m.bin")));
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
        Assert.Contains("'encoder.ln_post.weight'", e.Message, StringComparison.Ordinal);
        Assert.Contains("needs 64 bytes", e.Message, StringComparison.Ordinal);
        File.WriteAllBytes(dir.File("h.bin"), bytes[..20]);
        Assert.Contains("n_audio_layer", Assert.Throws<CheckpointException>(() => WhisperGgmlFile.Read(dir.File("h.bin"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_and_unsupported_tensor_types_are_named()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("k.bin"), new GgmlTestFileBuilder().Tensor("decoder.ln.weight", 12, [256], new byte[144]).Build());
        var e = Assert.Throws<CheckpointException>(() => WhisperGgmlFile.Read(dir.File("k.bin")));
        Assert.Contains("'decoder.ln.weight'", e.Message, StringComparison.Ordinal);
        Assert.Contains("Q4_K", e.Message, StringComparison.Ordinal);
        File.WriteAllBytes(dir.File("u.bin"), new GgmlTestFileBuilder().Tensor("decoder.ln.weight", 99, [16], new byte[64]).Build());
        Assert.Contains("99 (unknown)", Assert.Throws<CheckpointException>(() => WhisperGgmlFile.Read(dir.File("u.bin"))).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("encoder.blocks.3.attn.key.weight", "model.encoder.layers.3.self_attn.k_proj.weight")]
    [InlineData("decoder.blocks.0.cross_attn.out.bias", "model.decoder.layers.0.encoder_attn.out_proj.bias")]
    [InlineData("decoder.blocks.1.cross_attn_ln.weight", "model.decoder.layers.1.encoder_attn_layer_norm.weight")]
    [InlineData("encoder.blocks.0.attn_ln.bias", "model.encoder.layers.0.self_attn_layer_norm.bias")]
    [InlineData("encoder.blocks.0.mlp.2.weight", "model.encoder.layers.0.fc2.weight")]
    [InlineData("encoder.blocks.0.mlp_ln.weight", "model.encoder.layers.0.final_layer_norm.weight")]
    [InlineData("encoder.ln_post.bias", "model.encoder.layer_norm.bias")]
    [InlineData("decoder.ln.weight", "model.decoder.layer_norm.weight")]
    [InlineData("encoder.positional_embedding", "model.encoder.embed_positions.weight")]
    [InlineData("decoder.token_embedding.weight", "model.decoder.embed_tokens.weight")]
    [InlineData("decoder.blocks.0.something.weight", null)]
    public void Openai_names_map_to_hugging_face_keys(string ggml, string? hf) => Assert.Equal(hf, GgmlTensorNames.ToHuggingFace(ggml));

    [Theory]
    [InlineData(51864, 50256, 50257, 0, 50358, 50362, 50363)]
    [InlineData(51865, 50257, 50258, 99, 50359, 50363, 50364)]
    [InlineData(51866, 50257, 50258, 100, 50360, 50364, 50365)]
    public void Special_tokens_follow_the_vocabulary_size(int vocab, int eot, int sot, int languages, int transcribe, int noTimestamps, int timestampBegin)
    {
        var t = WhisperSpecialTokens.ForVocabulary(vocab);
        Assert.Equal((eot, sot, languages, transcribe, noTimestamps, timestampBegin), (t.EndOfText, t.StartOfTranscript, t.LanguageCount, t.Transcribe, t.NoTimestamps, t.TimestampBegin));
        Assert.Equal(vocab, t.TimestampBegin + WhisperSpecialTokens.TimestampCount);
        Assert.Equal(languages > 0 ? 50259 : null, t.Language("en"));
        Assert.Equal(languages == 100 ? 50358 : null, t.Language("yue"));
    }
}
