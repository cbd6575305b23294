namespace WavFusion.Live.Stages;

/// <summary>
/// Contiguous audio indexed by stream sample: appended at the end, dropped from the front. The storage is reused
/// (compacted in place, grown only when the kept span outgrows it), so a stream whose kept span is bounded
/// allocates nothing once warm.
/// </summary>
internal sealed class SampleBuffer
{
    private float[] _data = new float[16_384];
    private int _offset;

    /// <summary>Stream sample index of the first kept sample.</summary>
    public long Start { get; private set; }

    public int Count { get; private set; }

    /// <summary>Stream sample index just after the last kept sample.</summary>
    public long End => Start + Count;

    /// <summary>Storage capacity in samples (for memory checks).</summary>
    public int Capacity => _data.Length;

    /// <summary>Empties the buffer; the next sample appended has index <paramref name="start"/>.</summary>
    public void Restart(long start)
    {
        Start = start;
        Count = 0;
        _offset = 0;
    }

    public void Append(ReadOnlySpan<float> samples)
    {
        if (_offset + Count + samples.Length > _data.Length)
        {
            if (Count + samples.Length > _data.Length)
            {
                var grown = new float[Math.Max(2 * _data.Length, Count + samples.Length)];
                _data.AsSpan(_offset, Count).CopyTo(grown);
                _data = grown;
            }
            else
            {
                _data.AsSpan(_offset, Count).CopyTo(_data);
            }
            _offset = 0;
        }
        samples.CopyTo(_data.AsSpan(_offset + Count));
        Count += samples.Length;
    }

    /// <summary>Forgets samples before stream sample <paramref name="sample"/>.</summary>
    public void DropBefore(long sample)
    {
        int drop = (int)Math.Clamp(sample - Start, 0, Count);
        _offset += drop;
        Count -= drop;
        Start += drop;
        if (Count == 0) _offset = 0;
    }

    /// <summary>A copy of the samples in [<paramref name="from"/>, <paramref name="to"/>), which must be kept.</summary>
    public float[] Copy(long from, long to)
    {
        if (from < Start || to > End || from > to)
            throw new ArgumentOutOfRangeException(nameof(from), $"samples [{from}, {to}) are not all in the buffer [{Start}, {End})");
        return _data.AsSpan(_offset + (int)(from - Start), (int)(to - from)).ToArray();
    }
}
