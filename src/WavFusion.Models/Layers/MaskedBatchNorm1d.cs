using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Layers;

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
    // Held for the module's lifetime (see WavFusion.Core.Tensors.Scalars) and disposed with it.
    private readonly Scalar _eps;
    private readonly Scalar _momentum;
    private readonly Scalar _keep;

    public MaskedBatchNorm1d(long features, double eps = 1e-5, double momentum = 0.1, Device? device = null) : base(nameof(MaskedBatchNorm1d))
    {
        _eps = eps.ToScalar();
        _momentum = momentum.ToScalar();
        _keep = (1 - momentum).ToScalar();
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
        Tensor mean, variance;
        if (training)
        {
            var m = (mask ?? torch.ones(x.shape[0], x.shape[2], dtype: ScalarType.Bool, device: x.device))
                .to(x.dtype).unsqueeze(1);
            var count = m.sum();
            var safeCount = count.clamp_min(One);
            var batchMean = (x * m).sum(new long[] { 0, 2 }).div(safeCount);
            var batchVar = ((x - batchMean.view(1, -1, 1)).pow(Two) * m).sum(new long[] { 0, 2 }).div(safeCount);
            // A batch in which nothing is valid leaves the running statistics alone and normalises with them.
            var hasData = count.gt(Zero);
            using (torch.no_grad())
            {
                var unbiased = batchVar * count / count.sub(One).clamp_min(One);
                running_mean.copy_(torch.where(hasData, (running_mean * _keep).add(batchMean * _momentum, One), running_mean));
                running_var.copy_(torch.where(hasData, (running_var * _keep).add(unbiased * _momentum, One), running_var));
                num_batches_tracked.add_(hasData.to(ScalarType.Int64), One);
            }
            mean = torch.where(hasData, batchMean, running_mean);
            variance = torch.where(hasData, batchVar, running_var);
        }
        else
        {
            mean = running_mean;
            variance = running_var;
        }
        var scale = weight * variance.add(_eps, One).rsqrt();
        var y = ((x - mean.view(1, -1, 1)) * scale.view(1, -1, 1)).add(bias.view(1, -1, 1), One);
        return y.MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _eps.Dispose();
            _momentum.Dispose();
            _keep.Dispose();
        }
        base.Dispose(disposing);
    }
}
