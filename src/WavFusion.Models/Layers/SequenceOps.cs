using TorchSharp;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Layers;

/// <summary>Masked reductions and recurrences over right-padded (B, T, D) sequences.</summary>
public static class SequenceOps
{
    /// <summary>Mean over the frames where <paramref name="mask"/> (B, T) is true, (B, D); zero where none is.</summary>
    public static Tensor MeanOverValid(Tensor x, Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        var m = mask.to(x.dtype).unsqueeze(-1);
        var count = m.sum(1).clamp_min(One);
        return (x * m).sum(1).div(count).MoveToOuterDisposeScope();
    }

    /// <summary>Standard deviation (biased, like a population) over valid frames, (B, D); zero where none is.</summary>
    public static Tensor StdOverValid(Tensor x, Tensor mask, double eps = 1e-5)
    {
        using var scope = torch.NewDisposeScope();
        var m = mask.to(x.dtype).unsqueeze(-1);
        var count = m.sum(1).clamp_min(One);
        var mean = (x * m).sum(1, keepdim: true).div(count.unsqueeze(1));
        var variance = ((x - mean).pow(Two) * m).sum(1).div(count);
        // eps keeps the gradient of sqrt finite where a sample has one frame (variance 0).
        using var epsilon = eps.ToScalar();
        return variance.add(epsilon, One).sqrt().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Runs <paramref name="gru"/> (batch-first) over the valid prefix of each sample only, so that padding
    /// neither feeds the forward direction's state nor starts the backward direction. Output (B, T, H·dirs),
    /// zero at padded frames.
    /// </summary>
    public static Tensor RunGru(TorchSharp.Modules.GRU gru, Tensor x, Tensor mask)
    {
        ArgumentNullException.ThrowIfNull(gru);
        using var scope = torch.NewDisposeScope();
        // A sample without this modality still needs one step to be packable; its output is masked out.
        var lengths = mask.to(ScalarType.Int64).sum(1).clamp_min(One).cpu();
        using var packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first: true, enforce_sorted: false);
        var (output, _) = gru.call(packed);
        using (output)
        {
            var (padded, _) = nn.utils.rnn.pad_packed_sequence(output, batch_first: true, total_length: x.shape[1]);
            return (padded * mask.to(padded.dtype).unsqueeze(-1)).MoveToOuterDisposeScope();
        }
    }
}
