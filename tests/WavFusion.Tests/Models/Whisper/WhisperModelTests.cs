using TorchSharp;
using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Decoding;
using WavFusion.Speech.Streaming;
using static TorchSharp.torch;

namespace WavFusion.Tests.Whisper;

public sealed class WhisperModelTests
{
    internal static WhisperConfig SmallConfig(int vocab = 300) => new()
    {
        NumMelBins = 8, MaxSourcePositions = 12, DModel = 16,
        EncoderAttentionHeads = 2, EncoderLayers = 2, EncoderFfnDim = 24,
        DecoderAttentionHeads = 4, DecoderLayers = 3, DecoderFfnDim = 20,
        VocabSize = vocab, MaxTargetPositions = 10,
    };

    /// <summary>The Hugging Face WhisperForConditionalGeneration key table, written out from its naming rules.</summary>
    private static Dictionary<string, long[]> HuggingFaceKeys(WhisperConfig c)
    {
        long d = c.DModel;
        var keys = new Dictionary<string, long[]>
        {
            ["model.encoder.conv1.weight"] = [d, c.NumMelBins, 3], ["model.encoder.conv1.bias"] = [d],
            ["model.encoder.conv2.weight"] = [d, d, 3], ["model.encoder.conv2.bias"] = [d],
            ["model.encoder.embed_positions.weight"] = [c.MaxSourcePositions, d],
            ["model.encoder.layer_norm.weight"] = [d], ["model.encoder.layer_norm.bias"] = [d],
            ["model.decoder.embed_tokens.weight"] = [c.VocabSize, d],
            ["model.decoder.embed_positions.weight"] = [c.MaxTargetPositions, d],
            ["model.decoder.layer_norm.weight"] = [d], ["model.decoder.layer_norm.bias"] = [d],
        };
        void Attention(string p)
        {
            foreach (var proj in new[] { "q", "k", "v", "out" })
            {
                keys[$"{p}.{proj}_proj.weight"] = [d, d];
                if (proj != "k") keys[$"{p}.{proj}_proj.bias"] = [d];
            }
        }
        void Block(string p, long ffn, bool cross)
        {
            Attention($"{p}.self_attn");
            var norms = cross ? new[] { "self_attn_layer_norm", "encoder_attn_layer_norm", "final_layer_norm" } : ["self_attn_layer_norm", "final_layer_norm"];
            foreach (var n in norms) { keys[$"{p}.{n}.weight"] = [d]; keys[$"{p}.{n}.bias"] = [d]; }
            if (cross) Attention($"{p}.encoder_attn");
            keys[$"{p}.fc1.weight"] = [ffn, d]; keys[$"{p}.fc1.bias"] = [ffn];
            keys[$"{p}.fc2.weight"] = [d, ffn]; keys[$"{p}.fc2.bias"] = [d];
        }
        for (int i = 0; i < c.EncoderLayers; i++) Block($"model.encoder.layers.{i}", c.EncoderFfnDim, false);
        for (int i = 0; i < c.DecoderLayers; i++) Block($"model.decoder.layers.{i}", c.DecoderFfnDim, true);
        return keys;
    }

    [Fact]
    public void State_dict_lists_exactly_the_hugging_face_keys_and_shapes()
    {
        var config = SmallConfig();
        using var model = new WhisperForConditionalGeneration(config);
        var ours = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.shape);
        var expected = HuggingFaceKeys(config);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), ours.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, shape) in expected) Assert.True(shape.SequenceEqual(ours[key]), $"{key}: [{string.Join(", ", ours[key])}] vs [{string.Join(", ", shape)}]");
    }

    [Fact]
    public void Beam_reorder_of_the_cache_follows_the_selected_rows()
    {
        torch.manual_seed(1);
        var config = SmallConfig();
        using var model = new WhisperForConditionalGeneration(config);
        model.eval();
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var audio = model.Encode(torch.randn(2, config.NumMelBins, 2 * config.MaxSourcePositions));
        var prefix = torch.tensor(new long[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
        var next = torch.tensor(new long[] { 7, 8, 9 }, [3, 1]);

        using var cache = model.CreateCache(audio);
        model.Decode(prefix, cache);
        cache.Reorder(torch.tensor(new long[] { 1, 1, 0 }));
        var reordered = model.Decode(next, cache);

        var rows = torch.tensor(new long[] { 1, 1, 0 });
        using var fresh = model.CreateCache(audio.index_select(0, rows));
        var full = model.Decode(torch.cat([prefix.index_select(0, rows), next], 1), fresh);
        Assert.True(torch.allclose(full.narrow(1, 3, 1), reordered, rtol: 1e-4, atol: 1e-5), "logits after reorder differ from a fresh run on the reordered rows");
    }

    [Fact]
    public void Rows_sharing_one_audio_decode_like_a_copied_batch_and_survive_reorder()
    {
        torch.manual_seed(2);
        var config = SmallConfig();
        using var model = new WhisperForConditionalGeneration(config);
        model.eval();
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var audio = model.Encode(torch.randn(1, config.NumMelBins, 2 * config.MaxSourcePositions));
        var tokens = torch.tensor(new long[] { 1, 2, 3, 4, 5, 6 }, [3, 2]);
        using var shared = model.CreateCache(audio, 3);
        using var copied = model.CreateCache(audio.expand(3, -1, -1).contiguous());
        Assert.True(torch.allclose(model.Decode(tokens, copied), model.Decode(tokens, shared), rtol: 1e-4, atol: 1e-5));
        var rows = torch.tensor(new long[] { 2, 0, 0 });
        shared.Reorder(rows);
        copied.Reorder(rows);
        var next = torch.tensor(new long[] { 7, 8, 9 }, [3, 1]);
        Assert.True(torch.allclose(model.Decode(next, copied), model.Decode(next, shared), rtol: 1e-4, atol: 1e-5));
    }

    [Fact]
    public void Decoding_past_the_text_context_or_with_wrong_shapes_is_rejected()
    {
        var config = SmallConfig();
        using var model = new WhisperForConditionalGeneration(config);
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var audio = model.Encode(torch.randn(1, config.NumMelBins, 2 * config.MaxSourcePositions));
        using var cache = model.CreateCache(audio);
        model.Decode(torch.zeros(1, config.MaxTargetPositions, ScalarType.Int64), cache);
        var e = Assert.Throws<ArgumentException>(() => model.Decode(torch.zeros(1, 1, ScalarType.Int64), cache));
        Assert.Contains("max_target_positions", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => model.Decode(torch.zeros(2, 1, ScalarType.Int64), cache));
        Assert.Throws<ArgumentException>(() => model.Encode(torch.randn(1, config.NumMelBins + 1, 20)));
        Assert.Throws<ArgumentException>(() => model.Encode(torch.randn(1, config.NumMelBins, 4 * config.MaxSourcePositions)));
    }

    [Fact]
    public void Config_with_unsupported_activation_is_rejected_naming_the_field()
    {
        var config = SmallConfig();
        config.ActivationFunction = "relu";
        var e = Assert.Throws<InvalidDataException>(() => new WhisperForConditionalGeneration(config));
        Assert.Contains("activation_function", e.Message, StringComparison.Ordinal);
    }
}
