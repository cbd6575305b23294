namespace WavFusion.Training.SynthEmo;

/// <summary>SplitMix64: a tiny generator whose sequence for a seed is fixed by its definition, not by a runtime version.</summary>
public sealed class SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public static SplitMix64 For(int seed, int stream, int index) =>
        new(((ulong)(uint)seed << 32 | (uint)index) ^ ((ulong)(uint)stream * 0x9E3779B97F4A7C15UL));

    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, n).</summary>
    public int Next(int n) => (int)(NextDouble() * n);

    /// <summary>Uniform in [−1, 1].</summary>
    public double Symmetric() => 2 * NextDouble() - 1;

    public void Shuffle<T>(IList<T> list)
    {
        ArgumentNullException.ThrowIfNull(list);
        for (int i = list.Count - 1; i > 0; i--)
        {
            int j = Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }
}
