using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Fusion;

/// <summary>
/// Multimodal homogeneous feature discrepancy learning. Utterance vectors of each modality pass a linear
/// adapter to a common width (only where the modality's width differs from it) and a shared linear
/// encoder SD. Over the B×3 items of a batch, every triplet (i, j, k) with m[i] ≠ m[j], m[i] = m[k],
/// c[i] = c[j], c[i] ≠ c[k] contributes max(0, α − cos(SD_i, SD_j) + cos(SD_i, SD_k)): the same emotion in
/// another modality must be closer than another emotion in the same modality. Mean over triplets; 0 when
/// the batch has none. Absent modality items take no part.
/// </summary>
public sealed class MarginLoss : nn.Module<UtteranceVectors, Tensor, Tensor>
{
    private readonly Linear? audio_adapter;
    private readonly Linear? text_adapter;
    private readonly Linear? visual_adapter;
    private readonly Linear encoder;

    public MarginLoss(long audioDim, long textDim, long visualDim, long commonDim, long projectionDim, double alpha = 0.5, Device? device = null)
        : base(nameof(MarginLoss))
    {
        Alpha = alpha;
        CommonDim = commonDim;
        if (audioDim != commonDim) audio_adapter = nn.Linear(audioDim, commonDim, device: device);
        if (textDim != commonDim) text_adapter = nn.Linear(textDim, commonDim, device: device);
        if (visualDim != commonDim) visual_adapter = nn.Linear(visualDim, commonDim, device: device);
        encoder = nn.Linear(commonDim, projectionDim, device: device);
        RegisterComponents();
    }

    public double Alpha { get; }

    public long CommonDim { get; }

    /// <param name="vectors">Utterance vectors of the batch.</param>
    /// <param name="labels">(B) int64 class indices.</param>
    /// <returns>Scalar loss.</returns>
    public override Tensor forward(UtteranceVectors vectors, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(vectors);
        using var scope = torch.NewDisposeScope();
        var audio = vectors.Audio;
        var b = audio.shape[0];
        var device = audio.device;
        var none = torch.zeros(b, dtype: ScalarType.Bool, device: device);
        var all = torch.ones(b, dtype: ScalarType.Bool, device: device);
        var blank = torch.zeros(b, CommonDim, dtype: audio.dtype, device: device);

        var common = torch.cat(new[]
        {
            Adapt(audio_adapter, audio),
            vectors.Text is null ? blank : Adapt(text_adapter, vectors.Text),
            vectors.Visual is null ? blank : Adapt(visual_adapter, vectors.Visual),
        }, 0);
        var present = torch.cat(new[]
        {
            all,
            vectors.Text is null ? none : vectors.TextPresent ?? all,
            vectors.Visual is null ? none : vectors.VisualPresent ?? all,
        }, 0);
        var modality = Arange(3, ScalarType.Int64, device).repeat_interleave(b);
        var classes = labels.to(ScalarType.Int64).repeat(3);
        return TripletLoss(encoder.call(common), modality, classes, present, Alpha).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The triplet margin term over N items, vectorised over all (i, j, k) at once.
    /// </summary>
    /// <param name="embeddings">(N, D) encoded items.</param>
    /// <param name="modality">(N) modality index per item.</param>
    /// <param name="labels">(N) class index per item.</param>
    /// <param name="present">(N) bool: items that take part.</param>
    /// <param name="alpha">Margin α.</param>
    public static Tensor TripletLoss(Tensor embeddings, Tensor modality, Tensor labels, Tensor present, double alpha)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        using var scope = torch.NewDisposeScope();
        var unit = nn.functional.normalize(embeddings, p: 2.0, dim: 1, eps: 1e-8);
        var cosine = unit.matmul(unit.t());                                              // (N, N)
        var sameModality = modality.unsqueeze(1).eq(modality.unsqueeze(0));
        var sameClass = labels.unsqueeze(1).eq(labels.unsqueeze(0));
        var bothPresent = present.unsqueeze(1).logical_and(present.unsqueeze(0));
        var positive = sameModality.logical_not().logical_and(sameClass).logical_and(bothPresent);       // (i, j)
        var negative = sameModality.logical_and(sameClass.logical_not()).logical_and(bothPresent);       // (i, k)
        var valid = positive.unsqueeze(2).logical_and(negative.unsqueeze(1));                          // (i, j, k)
        using var margin = alpha.ToScalar();
        var hinge = nn.functional.relu(cosine.unsqueeze(2).neg().add(margin, One).add(cosine.unsqueeze(1), One));
        var count = valid.sum().to(embeddings.dtype);
        var total = (hinge * valid.to(embeddings.dtype)).sum();
        var loss = torch.where(count.gt(Zero), total / count.clamp_min(One), torch.zeros_like(total));
        return loss.MoveToOuterDisposeScope();
    }

    private static Tensor Adapt(Linear? adapter, Tensor x) => adapter is null ? x : adapter.call(x);
}
