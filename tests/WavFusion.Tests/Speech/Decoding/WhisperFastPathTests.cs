using TorchSharp;
using TorchSharp.Modules;
using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Decoding;
using WavFusion.Speech.Streaming;
using static TorchSharp.torch;

namespace WavFusion.Tests.Whisper;

/// <summary>The speed paths: fused self-attention projections and the encoder over a shortened audio context.</summary>
public sealed class WhisperFastPathTests
{
    private static (Tensor Q, Tensor K, Tensor V) Separate(WhisperAttention attention, Tensor x)
    {
        var (k, v) = attention.KeyValue(x);
        return (attention.Query(x), k, v);
    }

    private static void AssertSame((Tensor Q, Tensor K, Tensor V) expected, (Tensor Query, Tensor Key, Tensor Value) actual, string what)
    {
        Assert.Equal(expected.Q.shape, actual.Query.shape);
        Assert.True(torch.allclose(expected.Q, actual.Query, rtol: 0, atol: 1e-5), $"{what}: queries differ");
        Assert.True(torch.allclose(expected.K, actual.Key, rtol: 0, atol: 1e-5), $"{what}: keys differ");
        Assert.True(torch.allclose(expected.V, actual.Value, rtol: 0, atol: 1e-5), $"{what}: values differ");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Fused_query_key_value_equals_the_separate_projections_and_follows_loading_and_moving(bool inputMajor)
    {
        torch.manual_seed(11);
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        using var attention = new WhisperAttention("attn", 32, 4);
        var keys = attention.state_dict().Keys.Order().ToList();
        var x = torch.randn(2, 5, 32);
        var before = Separate(attention, x);
        Assert.False(attention.IsFused);

        attention.FuseQueryKeyValue(inputMajor);
        Assert.True(attention.IsFused);
        Assert.Equal(keys, attention.state_dict().Keys.Order());
        AssertSame(before, attention.QueryKeyValue(x), "after fusing");

        // Loading writes into the projections' parameters; the fused matrix must see the new values.
        var fresh = attention.state_dict().ToDictionary(kv => kv.Key, kv => torch.randn_like(kv.Value));
        attention.load_state_dict(fresh);
        Assert.True(attention.IsFused);
        var loaded = Separate(attention, x);
        Assert.True(torch.allclose(torch.nn.functional.linear(x, fresh["q_proj.weight"], fresh["q_proj.bias"]).view(2, 5, 4, 8).transpose(1, 2), loaded.Q, rtol: 0, atol: 1e-5));
        AssertSame(loaded, attention.QueryKeyValue(x), "after loading");

        attention.to(ScalarType.Float64);
        Assert.True(attention.IsFused, "moving the module should fuse its new parameters again");
        var x64 = x.to(ScalarType.Float64);
        AssertSame(Separate(attention, x64), attention.QueryKeyValue(x64), "after converting to float64");
    }

    [Fact]
    public void Decoder_with_fused_self_attention_gives_the_logits_of_separate_projections()
    {
        torch.manual_seed(5);
        var config = WhisperModelTests.SmallConfig();
        using var fused = new WhisperForConditionalGeneration(config);
        using var separate = new WhisperForConditionalGeneration(config);
        fused.eval();
        separate.eval();
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        separate.load_state_dict(fused.state_dict());
        // Fresh copies of the self-attention parameters are no longer views of the fused matrix.
        int unfused = 0;
        foreach (var (name, module) in separate.named_modules())
        {
            if (module is not Linear linear || !name.Contains("decoder", StringComparison.Ordinal) || !name.Contains(".self_attn.", StringComparison.Ordinal)) continue;
            linear.weight = new Parameter(linear.weight!.clone(), false);
            if (linear.bias is not null) linear.bias = new Parameter(linear.bias.clone(), false);
            unfused++;
        }
        Assert.Equal(4 * config.DecoderLayers, unfused);

        var audio = fused.Encode(torch.randn(1, config.NumMelBins, 2 * config.MaxSourcePositions));
        using var a = fused.CreateCache(audio);
        using var b = separate.CreateCache(audio);
        var prompt = torch.tensor(new long[] { 1, 2, 3 }, [1, 3]);
        Assert.True(torch.allclose(separate.Decode(prompt, b), fused.Decode(prompt, a), rtol: 0, atol: 1e-5), "prompt logits differ");
        foreach (long token in new long[] { 7, 9, 4 })
        {
            var step = torch.tensor(new[] { token }, [1, 1]);
            Assert.True(torch.allclose(separate.Decode(step, b), fused.Decode(step, a), rtol: 0, atol: 1e-5), $"step logits after token {token} differ");
        }
    }

    private static WhisperTranscriber Transcriber(WhisperForConditionalGeneration model, LogMelSpectrogram mel) =>
        new(model, new WhisperTokenizer(Enumerable.Range(0, 50257).Select(i => new[] { (byte)(i % 200 + 32) }).ToList(), WhisperSpecialTokens.ForVocabulary(51865)), mel);

    [Fact]
    public void Audio_context_rounds_the_window_up_and_never_past_the_full_window()
    {
        var config = WhisperModelTests.SmallConfig(51865);
        using var model = new WhisperForConditionalGeneration(config);
        using var mel = new LogMelSpectrogram(config.NumMelBins);
        var transcriber = Transcriber(model, mel);
        Assert.Equal(24, transcriber.WindowFrames);
        Assert.Equal(24, transcriber.ContextFrames(5, 0));
        Assert.Equal(10, transcriber.ContextFrames(5, 10));
        Assert.Equal(10, transcriber.ContextFrames(10, 10));
        Assert.Equal(20, transcriber.ContextFrames(11, 10));
        Assert.Equal(24, transcriber.ContextFrames(23, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => transcriber.ContextFrames(5, -1));
    }

    private static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && torch.equal(a, b).all().item<bool>();

    [Fact]
    public void Short_audio_context_encodes_fewer_positions_from_the_first_rows_of_the_position_table()
    {
        torch.manual_seed(3);
        var config = WhisperModelTests.SmallConfig(51865);
        using var model = new WhisperForConditionalGeneration(config);
        model.eval();
        using var mel = new LogMelSpectrogram(config.NumMelBins);
        var transcriber = Transcriber(model, mel);
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var features = torch.randn(config.NumMelBins, 13);

        var full = transcriber.EncodeWindow(features);
        var shortened = transcriber.EncodeWindow(features, 10);
        Assert.Equal(new long[] { 1, config.MaxSourcePositions, config.DModel }, full.shape);
        Assert.Equal(new long[] { 1, 10, config.DModel }, shortened.shape);
        // The shortened window is the features padded to 20 frames, encoded at positions 0..9.
        Assert.True(Same(model.Encode(LogMelSpectrogram.PadOrTrim(features, 20).unsqueeze(0)), shortened));

        // Positions past the context must not matter; the first ones must.
        var table = model.Encoder.PositionTable;
        table.narrow(0, 10, config.MaxSourcePositions - 10).add_(5.0);
        Assert.True(Same(shortened, transcriber.EncodeWindow(features, 10)), "rows past the shortened context changed its output");
        Assert.False(Same(full, transcriber.EncodeWindow(features)), "the full window ignored its later positions");
        table.narrow(0, 0, 1).add_(5.0);
        Assert.False(Same(shortened, transcriber.EncodeWindow(features, 10)), "the shortened context ignored its first position");
    }

    [Fact]
    public void Audio_context_at_full_length_transcribes_exactly_as_full_windows()
    {
        torch.manual_seed(8);
        var config = WhisperModelTests.SmallConfig(51865);
        using var model = new WhisperForConditionalGeneration(config);
        model.eval();
        using var mel = new LogMelSpectrogram(config.NumMelBins);
        var transcriber = Transcriber(model, mel);
        var random = new Random(4);
        // Two full windows of 24 frames (160 samples a frame).
        var audio = Enumerable.Range(0, 2 * 24 * 160).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        var options = new WhisperDecodingOptions { Language = "en", BeamSize = null, Temperatures = [0.0], MaxSampledTokens = 5 };
        var reference = transcriber.Transcribe(audio, options);
        var rounded = transcriber.Transcribe(audio, options with { AudioContextRounding = 10 });
        Assert.NotEmpty(reference);
        Assert.Equal(reference.Select(s => (s.Start, s.End, string.Join(",", s.Tokens))), rounded.Select(s => (s.Start, s.End, string.Join(",", s.Tokens))));
    }

    [Theory]
    [InlineData(51865)]
    [InlineData(1501)]
    [InlineData(7)]
    public void Vectorised_log_sum_exp_and_max_match_a_double_precision_loop(int length)
    {
        var random = new Random(length);
        var row = Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 40 - 20)).ToArray();
        for (int i = 0; i < length; i += 3) row[i] = float.NegativeInfinity;
        row[length - 1] = 25f;
        double max = row.Max();
        double expected = max + Math.Log(row.Sum(v => Math.Exp(v - max)));
        Assert.Equal(max, WhisperLogitFilters.Max(row));
        Assert.Equal(expected, WhisperLogitFilters.LogSumExp(row), 1e-5);
        Assert.Equal(float.NegativeInfinity, WhisperLogitFilters.LogSumExp(Enumerable.Repeat(float.NegativeInfinity, length).ToArray()));
    }
}
