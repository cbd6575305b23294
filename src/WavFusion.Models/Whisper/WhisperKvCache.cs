using TorchSharp;
using WavFusion.Core.Quantization;
using static TorchSharp.torch;

namespace WavFusion.Models.Whisper;

/// <summary>
/// One decoder layer's cache: self-attention keys/values in a buffer preallocated to the text context
/// (so appending is an in-place copy, not a concatenation), and the cross-attention keys/values of the audio.
/// </summary>
public sealed class WhisperLayerCache : IDisposable
{
    private Tensor _selfKey;
    private Tensor _selfValue;

    public Tensor CrossKey { get; private set; }
    public Tensor CrossValue { get; private set; }

    /// <summary>The same keys and values in f16 for a packed decoder with one audio behind every row (else null).</summary>
    public HalfKeyValues? CrossHalf { get; }

    // One audio behind every row: reordering rows never changes the cross-attention keys/values.
    private readonly bool _sharedAudio;

    internal WhisperLayerCache(Tensor crossKey, Tensor crossValue, long capacity, bool sharedAudio, HalfKeyValues? crossHalf = null)
    {
        _sharedAudio = sharedAudio;
        CrossHalf = crossHalf;
        CrossKey = crossKey;
        CrossValue = crossValue;
        long[] shape = [crossKey.shape[0], crossKey.shape[1], capacity, crossKey.shape[3]];
        _selfKey = torch.empty(shape, crossKey.dtype, crossKey.device).DetachFromDisposeScope();
        _selfValue = torch.empty(shape, crossKey.dtype, crossKey.device).DetachFromDisposeScope();
    }

    /// <summary>Stores keys/values (B, H, T, Dh) at [offset, offset+T) and returns views of positions [0, offset+T).</summary>
    internal (Tensor Keys, Tensor Values) Append(Tensor key, Tensor value, long offset)
    {
        long t = key.shape[2];
        _selfKey.narrow(2, offset, t).copy_(key);
        _selfValue.narrow(2, offset, t).copy_(value);
        return (_selfKey.narrow(2, 0, offset + t), _selfValue.narrow(2, 0, offset + t));
    }

    internal void Reorder(Tensor batchIndices)
    {
        Replace(ref _selfKey, _selfKey.index_select(0, batchIndices));
        Replace(ref _selfValue, _selfValue.index_select(0, batchIndices));
        if (_sharedAudio)
        {
            if (CrossKey.shape[0] != batchIndices.shape[0])
            {
                var ek = CrossKey.narrow(0, 0, 1).expand(batchIndices.shape[0], -1, -1, -1).DetachFromDisposeScope();
                var ev = CrossValue.narrow(0, 0, 1).expand(batchIndices.shape[0], -1, -1, -1).DetachFromDisposeScope();
                CrossKey.Dispose();
                CrossValue.Dispose();
                (CrossKey, CrossValue) = (ek, ev);
            }
            return;
        }
        var k = CrossKey.index_select(0, batchIndices).DetachFromDisposeScope();
        CrossKey.Dispose();
        CrossKey = k;
        var v = CrossValue.index_select(0, batchIndices).DetachFromDisposeScope();
        CrossValue.Dispose();
        CrossValue = v;
    }

    private static void Replace(ref Tensor field, Tensor value)
    {
        value.DetachFromDisposeScope();
        field.Dispose();
        field = value;
    }

    public void Dispose()
    {
        _selfKey.Dispose();
        _selfValue.Dispose();
        CrossKey.Dispose();
        CrossValue.Dispose();
        CrossHalf?.Dispose();
    }
}

/// <summary>
/// Key/value cache of one decoding run over one batch of audio: cross-attention keys/values are
/// computed once when the cache is made, self-attention entries grow by the tokens decoded.
/// </summary>
public sealed class WhisperKvCache : IDisposable
{
    private readonly WhisperLayerCache[] _layers;

    /// <summary>Tokens whose keys/values are stored (the position of the next token).</summary>
    public long Length { get; private set; }
    public long Capacity { get; }
    public long BatchSize { get; private set; }

    internal WhisperKvCache(WhisperLayerCache[] layers, long capacity, long batchSize)
    {
        _layers = layers;
        Capacity = capacity;
        BatchSize = batchSize;
    }

    internal WhisperLayerCache Layer(int index) => _layers[index];

    internal long Reserve(long tokens)
    {
        if (Length + tokens > Capacity)
            throw new ArgumentException($"decoding {tokens} more token(s) after {Length} exceeds the text context of {Capacity} positions (max_target_positions)");
        long offset = Length;
        Length += tokens;
        return offset;
    }

    /// <summary>Forgets tokens after <paramref name="length"/>, e.g. to decode again from a shared prompt.</summary>
    public void Rewind(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Length);
        Length = length;
    }

    /// <summary>Selects (and may repeat) batch rows, e.g. to follow beams: row i becomes old row <paramref name="batchIndices"/>[i].</summary>
    public void Reorder(Tensor batchIndices)
    {
        using var scope = torch.NewDisposeScope();
        var index = batchIndices.to(ScalarType.Int64, _layers.Length > 0 ? _layers[0].CrossKey.device : batchIndices.device);
        foreach (var layer in _layers) layer.Reorder(index);
        BatchSize = index.shape[0];
    }

    public void Dispose()
    {
        foreach (var layer in _layers) layer.Dispose();
    }
}
