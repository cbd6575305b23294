using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;
using WavFusion.Models.Layers;

namespace WavFusion.Models.Branches;

/// <summary>
/// The learnable visual centre (Quan et al., "Centralized Feature Pyramid") in one dimension over frames:
/// a bottleneck conv block (1×1 → BN → ReLU → k3 → BN → ReLU → 1×1 → BN → ReLU), a codebook encoder with
/// K codewords c_k and smoothing factors s_k, a channel gate from the encoded codes, and a per-frame
/// projection of h + h⊙δ. Padded frames are zeroed before every convolution (so a valid frame next to
/// padding sees the same zero as at a sequence end), left out of the batch statistics and of the codebook
/// sums; valid outputs therefore do not depend on how much padding a batch carries.
/// </summary>
public sealed class LearnableVisualCenter : nn.Module<ModalitySequence, Tensor>
{
    private readonly Conv1d conv1;
    private readonly MaskedBatchNorm1d bn1;
    private readonly Conv1d conv2;
    private readonly MaskedBatchNorm1d bn2;
    private readonly Conv1d conv3;
    private readonly MaskedBatchNorm1d bn3;
    private readonly Parameter codewords;
    private readonly Parameter smoothing;
    private readonly MaskedBatchNorm1d code_norm;
    private readonly Linear gate;
    private readonly Linear projection;

    public LearnableVisualCenter(long inputDim, long channels = 256, long bottleneck = 64, int numCodes = 32, long outputDim = 64, Device? device = null)
        : base(nameof(LearnableVisualCenter))
    {
        if (numCodes <= 0) throw new ArgumentException($"the codebook needs at least one codeword; got {numCodes}", nameof(numCodes));
        conv1 = nn.Conv1d(inputDim, bottleneck, 1, bias: false, device: device);
        bn1 = new MaskedBatchNorm1d(bottleneck, device: device);
        conv2 = nn.Conv1d(bottleneck, bottleneck, 3, padding: 1, bias: false, device: device);
        bn2 = new MaskedBatchNorm1d(bottleneck, device: device);
        conv3 = nn.Conv1d(bottleneck, channels, 1, bias: false, device: device);
        bn3 = new MaskedBatchNorm1d(channels, device: device);
        // Initialisation after the CFP encoding layer: codewords uniform in ±1/sqrt(K·C), smoothing in (0, 1].
        var std = 1.0 / Math.Sqrt(numCodes * channels);
        codewords = nn.Parameter(torch.empty(numCodes, channels, device: device).uniform_(-std, std));
        smoothing = nn.Parameter(torch.empty(numCodes, device: device).uniform_(0.0, 1.0));
        code_norm = new MaskedBatchNorm1d(numCodes, device: device);
        gate = nn.Linear(channels, channels, device: device);
        projection = nn.Linear(channels, outputDim, device: device);
        NumCodes = numCodes;
        OutputDim = outputDim;
        RegisterComponents();
    }

    public int NumCodes { get; }

    public long OutputDim { get; }

    /// <returns>(B, T, outputDim), zero at padded frames.</returns>
    public override Tensor forward(ModalitySequence input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var scope = torch.NewDisposeScope();
        var mask = input.Mask;
        var frameWeight = mask.to(input.Features.dtype).unsqueeze(1);
        var x = input.Features.transpose(1, 2) * frameWeight;
        var h = nn.functional.relu(bn1.call(conv1.call(x), mask)) * frameWeight;
        h = nn.functional.relu(bn2.call(conv2.call(h), mask)) * frameWeight;
        h = nn.functional.relu(bn3.call(conv3.call(h), mask)) * frameWeight;
        var frames = h.transpose(1, 2);                                                   // (B, T, C)

        // ‖h_t − c_k‖² expanded so that no (B, T, K, C) tensor is formed.
        var distance = frames.pow(Two).sum(-1, keepdim: true)
                           .sub(frames.matmul(codewords.t()).mul(Two))
                           .add(codewords.pow(Two).sum(-1).view(1, 1, -1), One)
                           .clamp_min(Zero);                                            // (B, T, K)
        var assignment = torch.softmax(-smoothing.view(1, 1, -1) * distance, 2)
                         * mask.to(frames.dtype).unsqueeze(-1);
        // e_k = Σ_t a_tk (h_t − c_k) = Σ_t a_tk h_t − (Σ_t a_tk) c_k
        var encoded = assignment.transpose(1, 2).matmul(frames)
                      - assignment.sum(1).unsqueeze(-1) * codewords.unsqueeze(0);       // (B, K, C)
        var present = mask.any(1).unsqueeze(1).expand(-1, encoded.shape[2]);
        var e = nn.functional.relu(code_norm.call(encoded, present)).mean(new long[] { 1 }); // (B, C)

        var delta = torch.sigmoid(gate.call(e)).unsqueeze(1);
        var output = projection.call(frames.add(frames * delta, One)) * mask.to(frames.dtype).unsqueeze(-1);
        return output.MoveToOuterDisposeScope();
    }
}
