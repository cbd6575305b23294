using TorchSharp;
using WavFusion.Models.Text;
using WavFusion.Tests.Infrastructure;
using static TorchSharp.torch;

namespace WavFusion.Tests.Text;

public sealed class TextModelForwardTests
{
    private static T Randomised<T>(T model, ulong seed) where T : TextEncoderModel
    {
        TextCheckpointFiles.Randomise(model, seed);
        model.eval();
        return model;
    }

    [Fact]
    public void Roberta_position_ids_count_from_the_padding_index()
    {
        using var model = new RobertaModel(TextCheckpointFiles.SmallRoberta());
        using var ids = torch.tensor(new long[,] { { 0, 5, 6, 2, 1, 1 }, { 1, 0, 7, 2, 1, 1 } });
        using var positions = model.embeddings.PositionIds(ids);
        Assert.Equal(new long[] { 2, 3, 4, 5, 1, 1, 1, 2, 3, 4, 1, 1 }, positions.data<long>().ToArray());
    }

    [Fact]
    public void Bert_position_ids_are_absolute()
    {
        using var model = new BertModel(TextCheckpointFiles.SmallBert());
        using var ids = torch.tensor(new long[,] { { 2, 5, 3, 0 } });
        using var positions = model.embeddings.PositionIds(ids);
        Assert.Equal(new long[] { 0, 1, 2, 3 }, positions.data<long>().ToArray());
    }

    [Fact]
    public void Bert_embedding_output_is_word_plus_position_plus_token_type_then_layer_norm()
    {
        using var scope = torch.NewDisposeScope();
        using var model = Randomised(new BertModel(TextCheckpointFiles.SmallBert()), 5);
        var ids = torch.tensor(new long[,] { { 2, 9, 17, 3, 11, 3 } });
        var types = torch.tensor(new long[,] { { 0, 0, 0, 0, 1, 1 } });
        using var _ = torch.no_grad();
        using var output = model.Encode(ids, torch.ones_like(ids), types);

        var e = model.embeddings;
        var sum = e.word_embeddings.weight!.index(ids[0]) + e.position_embeddings.weight![..6] + e.token_type_embeddings.weight!.index(types[0]);
        var expected = nn.functional.layer_norm(sum, [12], e.LayerNorm.weight, e.LayerNorm.bias, 1e-12).unsqueeze(0);
        Parity.Close.Assert(expected, output.HiddenStates[0], 1e-5, "bert embeddings");
        Assert.Equal(3, output.HiddenStates.Count);

        var zeros = model.forward(ids, torch.ones_like(ids));
        Assert.False(zeros.allclose(output.LastHiddenState, 1e-3, 1e-3), "token_type_ids had no effect");
    }

    [Fact]
    public void Bert_saved_with_bert_prefix_and_cls_head_reloads_to_identical_outputs()
    {
        using var scope = torch.NewDisposeScope();
        using var dir = new TempDir();
        using var original = Randomised(new BertModel(TextCheckpointFiles.SmallBert(layers: 3)), 9);
        var cls = new Dictionary<string, Tensor>
        {
            ["cls.predictions.bias"] = torch.zeros(40),
            ["cls.seq_relationship.weight"] = torch.zeros(2, 12),
            ["bert.embeddings.position_ids"] = torch.arange(16L).unsqueeze(0),
        };
        TextCheckpointFiles.Write(dir.Path, original.Config, original.state_dict(), BertModel.CheckpointPrefix, cls);

        using var loaded = BertModel.FromPretrained(dir.Path);
        Assert.Equal(3, loaded.Config.NumHiddenLayers);
        Assert.Equal(1e-12, loaded.Config.LayerNormEps);
        var ids = torch.tensor(new long[,] { { 2, 9, 17, 3, 11, 3 }, { 2, 8, 3, 0, 0, 0 } });
        var mask = ids.ne(0).to(ScalarType.Int64);
        var types = torch.tensor(new long[,] { { 0, 0, 0, 0, 1, 1 }, { 0, 0, 0, 0, 0, 0 } });
        using var _ = torch.no_grad();
        using var a = original.Encode(ids, mask, types);
        using var b = loaded.Encode(ids, mask, types);
        for (int i = 0; i < a.HiddenStates.Count; i++)
            Assert.True(a.HiddenStates[i].equal(b.HiddenStates[i]).all().item<bool>(), $"hidden_states.{i} differs after reload");
        Assert.True(original.Pool(a.LastHiddenState).equal(loaded.Pool(b.LastHiddenState)).all().item<bool>());
    }

    public static TheoryData<string> Families() => ["roberta", "bert"];

    [Theory]
    [MemberData(nameof(Families))]
    public void Padding_a_batch_further_leaves_the_real_rows_unchanged(string family)
    {
        using var scope = torch.NewDisposeScope();
        TextEncoderModel model = family == "roberta"
            ? Randomised(new RobertaModel(TextCheckpointFiles.SmallRoberta()), 3)
            : Randomised(new BertModel(TextCheckpointFiles.SmallBert()), 3);
        long pad = model.Config.PadTokenId;
        var ids = torch.tensor(new long[,] { { 0, 5, 6, 7, 2 }, { 0, 8, 2, pad, pad } });
        var mask = ids.ne(pad).to(ScalarType.Int64);
        var padded = nn.functional.pad(ids, [0, 4], value: pad);
        var paddedMask = nn.functional.pad(mask, [0, 4]);
        using var _ = torch.no_grad();
        using var shortRun = model.Encode(ids, mask);
        using var longRun = model.Encode(padded, paddedMask);
        var valid = mask.ne(0);
        for (int i = 0; i < shortRun.HiddenStates.Count; i++)
        {
            var longRows = longRun.HiddenStates[i][.., ..5].index(valid);
            double diff = Parity.Close.Assert(shortRun.HiddenStates[i].index(valid), longRows, 1e-5, $"{family} hidden_states.{i}");
            Assert.True(diff <= 1e-5);
        }
        model.Dispose();
    }

    [Fact]
    public void Masked_keys_do_not_influence_real_tokens()
    {
        using var scope = torch.NewDisposeScope();
        using var model = Randomised(new RobertaModel(TextCheckpointFiles.SmallRoberta()), 4);
        var a = torch.tensor(new long[,] { { 0, 5, 6, 2, 1, 1 } });
        var b = torch.tensor(new long[,] { { 0, 5, 6, 2, 30, 31 } });
        var mask = torch.tensor(new long[,] { { 1, 1, 1, 1, 0, 0 } });
        using var _ = torch.no_grad();
        // Positions follow the ids, so b's masked tail gets positions 6, 7; only the mask keeps it out of the real rows.
        var ha = model.forward(a, mask)[.., ..4];
        var hb = model.forward(b, mask)[.., ..4];
        Parity.Close.Assert(ha, hb, 1e-5, "real rows with different masked tails");
    }
}
