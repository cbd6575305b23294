using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Vision;

/// <summary>
/// BatchNorm over (B, C, H, W) with nn.BatchNorm2d's keys (weight, bias, running_mean, running_var,
/// num_batches_tracked) and semantics, including cumulative averaging when <see cref="Momentum"/> is null.
/// TorchSharp's own module bumps num_batches_tracked in training with a Scalar temporary that the GC can
/// finalise mid-call; this one passes held Scalars only (see WavFusion.Core.Tensors.Scalars).
/// </summary>
public sealed class BatchNorm2d : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter bias;
    private readonly Tensor running_mean;
    private readonly Tensor running_var;
    private readonly Tensor num_batches_tracked;
    private readonly double _eps;

    public BatchNorm2d(long features, double eps = 1e-5, double? momentum = 0.1, Device? device = null) : base(nameof(BatchNorm2d))
    {
        _eps = eps;
        Momentum = momentum;
        weight = nn.Parameter(torch.ones(features, device: device));
        bias = nn.Parameter(torch.zeros(features, device: device));
        running_mean = torch.zeros(features, device: device);
        running_var = torch.ones(features, device: device);
        num_batches_tracked = torch.zeros(Array.Empty<long>(), dtype: ScalarType.Int64, device: device);
        RegisterComponents();
    }

    /// <summary>Weight of the newest batch in the running statistics; null averages all batches equally.</summary>
    public double? Momentum { get; set; }

    /// <summary>Running statistics back to mean 0, variance 1, no batches seen.</summary>
    public void ResetRunningStats()
    {
        using (torch.no_grad())
        {
            running_mean.zero_();
            running_var.fill_(One);
            num_batches_tracked.zero_();
        }
    }

    public override Tensor forward(Tensor input)
    {
        if (input.dim() != 4)
            throw new ArgumentException($"BatchNorm2d expects (batch, channels, height, width), got [{string.Join(", ", input.shape)}]", nameof(input));
        double factor = Momentum ?? 0.0;
        if (training)
        {
            using (torch.no_grad()) num_batches_tracked.add_(One, One);
            if (Momentum is null) factor = 1.0 / num_batches_tracked.item<long>();
        }
        return nn.functional.batch_norm(input, running_mean, running_var, weight, bias, training, factor, _eps);
    }
}
