using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Text;

/// <summary>Word + token-type + position embeddings, then LayerNorm (HF BertEmbeddings / RobertaEmbeddings).</summary>
public sealed class BertEmbeddings : nn.Module
{
    public readonly Embedding word_embeddings;
    public readonly Embedding position_embeddings;
    public readonly Embedding token_type_embeddings;
    public readonly LayerNorm LayerNorm;

    private readonly PositionIdScheme _positions;
    private readonly Scalar _paddingOffset; // held for the module's lifetime and disposed with it
    private readonly long _maxPositions;
    private readonly double _dropout;

    public BertEmbeddings(TextEncoderConfig config, PositionIdScheme positions) : base(nameof(BertEmbeddings))
    {
        _positions = positions;
        _paddingOffset = config.PadTokenId.ToScalar();
        _maxPositions = config.MaxPositionEmbeddings;
        _dropout = config.HiddenDropoutProb;
        word_embeddings = nn.Embedding(config.VocabSize, config.HiddenSize, padding_idx: config.PadTokenId);
        // RoBERTa reserves the padding row of the position table too; BERT's position table has none.
        position_embeddings = positions == PositionIdScheme.FromPadding
            ? nn.Embedding(config.MaxPositionEmbeddings, config.HiddenSize, padding_idx: config.PadTokenId)
            : nn.Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        token_type_embeddings = nn.Embedding(config.TypeVocabSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, config.LayerNormEps);
        RegisterComponents();
    }

    /// <summary>Position ids (B, T) int64 for <paramref name="inputIds"/> under this model's scheme.</summary>
    public Tensor PositionIds(Tensor inputIds)
    {
        using var scope = torch.NewDisposeScope();
        long t = inputIds.shape[1];
        Tensor ids;
        if (_positions == PositionIdScheme.FromPadding)
        {
            var real = inputIds.ne(_paddingOffset).to(ScalarType.Int64);
            ids = (real.cumsum(1) * real).add(_paddingOffset, One);
        }
        else
        {
            ids = Arange(t, ScalarType.Int64, inputIds.device).unsqueeze(0).expand(inputIds.shape[0], t);
        }
        long last = ids.numel() == 0 ? 0 : ids.max().item<long>();
        if (last >= _maxPositions)
            throw new ArgumentException($"sequence of {t} tokens needs position {last}, but max_position_embeddings is {_maxPositions}");
        return ids.MoveToOuterDisposeScope();
    }

    /// <param name="inputIds">(B, T) int64 token ids.</param>
    /// <param name="tokenTypeIds">(B, T) int64 segment ids, or null for all zeros.</param>
    public Tensor forward(Tensor inputIds, Tensor? tokenTypeIds)
    {
        using var scope = torch.NewDisposeScope();
        var types = tokenTypeIds ?? torch.zeros_like(inputIds);
        var h = word_embeddings.forward(inputIds)
            .add(token_type_embeddings.forward(types), One)
            .add(position_embeddings.forward(PositionIds(inputIds)), One);
        h = LayerNorm.forward(h);
        h = nn.functional.dropout(h, _dropout, training);
        return h.MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _paddingOffset.Dispose();
        base.Dispose(disposing);
    }
}
