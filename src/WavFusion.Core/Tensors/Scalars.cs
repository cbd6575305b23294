using TorchSharp;
using static TorchSharp.torch;

namespace WavFusion.Core.Tensors;

/// <summary>
/// The one home for TorchSharp <see cref="Scalar"/>s that live as long as the process.
/// </summary>
/// <remarks>
/// A <see cref="Scalar"/> owns a native object and deletes it in its finalizer. TorchSharp reads
/// <c>scalar.Handle</c> and then calls libtorch without keeping the Scalar alive, so a temporary made by an
/// implicit conversion (<c>t.mul(0.5)</c>, <c>t + 1</c>) or inside TorchSharp (the <c>alpha = 1</c> of
/// <c>a + b</c>) can be finalised by a collection on another thread while libtorch still reads it: a crash
/// or, worse, a silently wrong number. Every Scalar product code passes is therefore held: the constants
/// here; per-module values (eps, 1/√d, fill values) as module fields disposed with the module; per-call
/// values as <c>using var s = value.ToScalar();</c>. The build bans the implicit forms
/// (build/BannedSymbols.txt) and a test scans the compiled IL for the rest.
/// These are never disposed: they are process-wide and immutable.
/// </remarks>
public static class Scalars
{
    /// <summary>1 as an integer: valid as the alpha of floating and integral tensors alike (<c>a.add(b, One)</c>).</summary>
    public static readonly Scalar One = 1L.ToScalar();

    /// <summary>0 as an integer.</summary>
    public static readonly Scalar Zero = 0L.ToScalar();

    /// <summary>−1 as an integer (<c>a.add(b, MinusOne)</c> is a − b).</summary>
    public static readonly Scalar MinusOne = (-1L).ToScalar();

    /// <summary>0.5.</summary>
    public static readonly Scalar OneHalf = 0.5.ToScalar();

    /// <summary>2 as an integer (squares through <c>pow</c>).</summary>
    public static readonly Scalar Two = 2L.ToScalar();

    /// <summary>
    /// The most negative finite value of a floating type (<c>torch.finfo(dtype).min</c>): the fill that masks
    /// attention scores. One held Scalar per type, made on first use.
    /// </summary>
    public static Scalar Lowest(ScalarType dtype) => LowestByType.GetOrAdd(dtype, static t => torch.finfo(t).min.ToScalar());

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<ScalarType, Scalar> LowestByType = new();

    /// <summary>0, 1, …, <paramref name="stop"/> − 1 (what <c>torch.arange(stop)</c> gives, without its Scalar temporaries).</summary>
    public static Tensor Arange(long stop, ScalarType dtype = ScalarType.Int64, Device? device = null)
    {
        using var end = stop.ToScalar();
        return torch.arange(Zero, end, One, dtype, device);
    }
}
