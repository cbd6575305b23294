using TorchSharp;
using WavFusion.Models.Layers;
using WavFusion.Models.Fusion;
using static TorchSharp.torch;

namespace WavFusion.StressRunner;

/// <summary>
/// Seeded inputs made in C#, not with torch.arange or Tensor-and-number operators: the harness must make no
/// implicit Scalar of its own, or a difference could come from the harness instead of the code under test.
/// </summary>
public static class Inputs
{
    public static Tensor Normal(Random random, params long[] shape)
    {
        var values = new float[shape.Aggregate(1L, (a, b) => a * b)];
        for (int i = 0; i < values.Length; i++)
            values[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        return torch.tensor(values, shape);
    }

    /// <summary>(B, T) bool, true for the first lengths[b] steps of row b.</summary>
    public static Tensor LengthMask(int time, params int[] lengths)
    {
        var mask = new bool[lengths.Length * time];
        for (int b = 0; b < lengths.Length; b++)
            for (int t = 0; t < lengths[b]; t++) mask[b * time + t] = true;
        return torch.tensor(mask, [lengths.Length, time]);
    }

    /// <summary>Audio (B, samples) that is zero past each row's length, with its sample mask.</summary>
    public static (Tensor Audio, Tensor Mask) Audio(Random random, int samples, params int[] lengths)
    {
        var values = new float[lengths.Length * samples];
        for (int b = 0; b < lengths.Length; b++)
            for (int t = 0; t < lengths[b]; t++) values[b * samples + t] = (float)(0.3 * Math.Sin(t * (0.01 + 0.003 * b)) + 0.05 * (random.NextDouble() - 0.5));
        return (torch.tensor(values, [lengths.Length, samples]), LengthMask(samples, lengths));
    }

    public static ModalitySequence Sequence(Random random, int width, int time, params int[] lengths) =>
        new(Normal(random, lengths.Length, time, width), LengthMask(time, lengths));

    public static float[] Speechlike(Random random, int samples)
    {
        var audio = new float[samples];
        for (int t = 0; t < samples; t++)
            audio[t] = (float)(0.2 * Math.Sin(2 * Math.PI * 220 * t / 16000.0) * Math.Sin(2 * Math.PI * 3 * t / 16000.0) + 0.02 * (random.NextDouble() - 0.5));
        return audio;
    }
}
