namespace WavFusion.Live.Capture;

/// <summary>How one native sample is stored (little-endian, interleaved by channel).</summary>
public enum CaptureSampleFormat
{
    /// <summary>16-bit signed integer (ALSA S16_LE, WAVE PCM 16).</summary>
    S16,
    /// <summary>24-bit signed integer packed in 3 bytes (ALSA S24_3LE, WAVE PCM 24).</summary>
    S24Packed,
    /// <summary>32-bit signed integer (ALSA S32_LE, WAVE PCM 32); 24-bit converters left-justify into it.</summary>
    S32,
    /// <summary>32-bit IEEE float in [-1, 1] (ALSA FLOAT_LE, WAVE IEEE float).</summary>
    F32,
}

/// <summary>What a device delivers: rate, channel count and sample format of its interleaved frames.</summary>
public readonly record struct CaptureFormat(int SampleRate, int Channels, CaptureSampleFormat SampleFormat)
{
    public int BytesPerSample => SampleFormat switch
    {
        CaptureSampleFormat.S16 => 2,
        CaptureSampleFormat.S24Packed => 3,
        CaptureSampleFormat.S32 or CaptureSampleFormat.F32 => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(SampleFormat), SampleFormat, "unknown sample format"),
    };

    public int BytesPerFrame => BytesPerSample * Channels;

    public override string ToString() => $"{SampleRate} Hz, {Channels} ch, {SampleFormat}";
}
