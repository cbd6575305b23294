using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace WavFusion.Models.Fusion;

/// <summary>
/// BatchNorm over (B, C, L) whose training statistics count only the positions a (B, L) mask marks valid,
/// so padded frames and absent samples neither shift the batch statistics nor the running ones.
/// Keys and semantics otherwise match nn.BatchNorm1d (weight, bias, running_mean, running_var,
/// num_batches_tracked; unbiased variance in the running estimate).
/// </summary>
public sealed class MaskedBatchNorm1d : nn.Module<Tensor, Tensor?, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter bias;
    private readonly Tensor running_mean;
    private readonly Tensor running_var;
    private readonly Tensor num_batches_tracked;
    private readonly double _eps;
    private readonly double _momentum;

    public MaskedBatchNorm1d(long features, double eps = 1e-5, double momentum = 0.1, Device? device = null) : base(nameof(MaskedBatchNorm1d))
    {
        _eps = eps;
        _momentum = momentum;
        weight = nn.Parameter(torch.ones(features, device: device));
        bias = nn.Parameter(torch.zeros(features, device: device));
        running_mean = torch.zeros(features, device: device);
        running_var = torch.ones(features, device: device);
        num_batches_tracked = torch.zeros(Array.Empty<long>(), dtype: ScalarType.Int64, device: device);
        RegisterComponents();
    }

    /// <param name="x">(B, C, L)</param>
    /// <param name="mask">(B, L) bool, True = counts towards the statistics; null = all positions count.</param>
    public override Tensor forward(Tensor x, Tensor? mask)
    {
        using var scope = torch.NewDisposeScope();
        // Scalars are held in locals that live to the end of the call: a temporary Scalar made by implicit
        // conversion can be finalised by a collection on another thread while libtorch still reads it.
        using var eps = _eps.ToScalar();
        using var momentum = _momentum.ToScalar();
        using var keep = (1 - _momentum).ToScalar();
        using var one = 1.0.ToScalar();
        Tensor mean, variance;
        if (training)
        {
            var m = (mask ?? torch.ones(x.shape[0], x.shape[2], dtype: ScalarType.Bool, device: x.device))
                .to(x.dtype).unsqueeze(1);
            var count = m.sum();
            var safeCount = count.clamp_min(one);
            var batchMean = (x * m).sum(new long[] { 0, 2 }).div(safeCount);
            var batchVar = ((x - batchMean.view(1, -1, 1)).pow(2) * m).sum(new long[] { 0, 2 }).div(safeCount);
            // A batch in which nothing is valid leaves the running statistics alone and normalises with them.
            var hasData = count.gt(0);
            using (torch.no_grad())
            {
                var unbiased = batchVar * count / (count - one).clamp_min(one);
                running_mean.copy_(torch.where(hasData, running_mean * keep + batchMean * momentum, running_mean));
                running_var.copy_(torch.where(hasData, running_var * keep + unbiased * momentum, running_var));
                num_batches_tracked.add_(hasData.to(ScalarType.Int64));
            }
            mean = torch.where(hasData, batchMean, running_mean);
            variance = torch.where(hasData, batchVar, running_var);
        }
        else
        {
            mean = running_mean;
            variance = running_var;
        }
        var scale = weight * variance.add(eps).rsqrt();
        var y = (x - mean.view(1, -1, 1)) * scale.view(1, -1, 1) + bias.view(1, -1, 1);
        return y.MoveToOuterDisposeScope();
    }
}
