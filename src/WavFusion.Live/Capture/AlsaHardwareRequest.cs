namespace WavFusion.Live.Capture;

/// <summary>
/// What <see cref="AlsaAudioSource"/> asks an ALSA device for, in order of preference; the device's answer wins and
/// <see cref="CaptureConverter"/> takes whatever it gives to 16 kHz mono.
/// </summary>
public sealed record AlsaHardwareRequest
{
    /// <summary>
    /// Rates taken if the device offers them exactly: 16 kHz needs no resampling; 48 and 44.1 kHz are what most
    /// microphones run at natively. A device offering none of them gets the rate nearest 48 kHz it has.
    /// </summary>
    public IReadOnlyList<int> Rates { get; init; } = [16_000, 48_000, 44_100];

    /// <summary>Channel counts taken if offered exactly; otherwise the nearest to the first. Channels are averaged.</summary>
    public IReadOnlyList<int> Channels { get; init; } = [1, 2];

    /// <summary>Sample formats in order of preference: float and 32-bit keep a 24-bit converter's resolution.</summary>
    public IReadOnlyList<CaptureSampleFormat> Formats { get; init; } =
        [CaptureSampleFormat.F32, CaptureSampleFormat.S32, CaptureSampleFormat.S16, CaptureSampleFormat.S24Packed];

    /// <summary>
    /// ALSA period asked for. Reads return a period at a time, so a short one (at most 32 ms) keeps the capture
    /// thread looking at its cancellation token often.
    /// </summary>
    public int PeriodMs { get; init; } = 20;

    /// <summary>Hardware buffer asked for: room to ride out a garbage collection or a busy core without an overrun.</summary>
    public int BufferMs { get; init; } = 500;
}
