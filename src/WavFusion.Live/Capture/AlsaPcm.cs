namespace WavFusion.Live.Capture;

/// <summary>The capture loop's view of a PCM: a seam so tests can play a device that overruns.</summary>
internal interface IAlsaPcm : IDisposable
{
    /// <summary>snd_pcm_wait: 1 when frames are ready, 0 on timeout, or a negative errno (-EPIPE after an overrun).</summary>
    int Wait(int timeoutMs);

    /// <summary>snd_pcm_readi into <paramref name="buffer"/>: frames read, or a negative errno.</summary>
    long Read(Span<byte> buffer, int frames);

    /// <summary>snd_pcm_recover: 0 when the stream runs again.</summary>
    int Recover(int err);

    string Describe(int err);
}

/// <summary>An open ALSA capture PCM with negotiated hardware parameters, read non-blocking.</summary>
internal sealed class AlsaPcm : IAlsaPcm
{
    private nint _handle;

    private AlsaPcm(nint handle, CaptureFormat format, int periodFrames)
    {
        _handle = handle;
        Format = format;
        PeriodFrames = periodFrames;
    }

    /// <summary>What the device gave.</summary>
    public CaptureFormat Format { get; }

    public int PeriodFrames { get; }

    /// <summary>Opens <paramref name="device"/> for capture and negotiates the parameters; errors name the device.</summary>
    public static AlsaPcm Open(string device, AlsaHardwareRequest request)
    {
        // Non-blocking open: a device another program holds fails at once (EBUSY) instead of hanging the caller.
        int err = AlsaNative.snd_pcm_open(out var handle, device, AlsaNative.StreamCapture, AlsaNative.ModeNonBlock);
        if (err < 0) throw new IOException($"{device}: cannot open ALSA capture device: {AlsaNative.Error(err)}");
        try
        {
            var (format, period) = Negotiate(device, handle, request);
            // Reads stay non-blocking: the loop blocks in snd_pcm_wait with a short timeout instead, so it sees
            // cancellation even when a device stops delivering.
            Check(device, "set non-blocking mode", AlsaNative.snd_pcm_nonblock(handle, 1));
            Check(device, "prepare", AlsaNative.snd_pcm_prepare(handle));
            return new AlsaPcm(handle, format, period);
        }
        catch
        {
            _ = AlsaNative.snd_pcm_close(handle);
            throw;
        }
    }

    private static (CaptureFormat Format, int PeriodFrames) Negotiate(string device, nint pcm, AlsaHardwareRequest request)
    {
        Check(device, "allocate hardware parameters", AlsaNative.snd_pcm_hw_params_malloc(out var hw));
        try
        {
            Check(device, "read hardware parameters", AlsaNative.snd_pcm_hw_params_any(pcm, hw));
            Check(device, "interleaved read access", AlsaNative.snd_pcm_hw_params_set_access(pcm, hw, AlsaNative.AccessRwInterleaved));
            // Ask for the device's native rates: ALSA's `plug` would otherwise convert with linear interpolation,
            // which folds everything above 8 kHz into the speech band. Our converter band-limits instead.
            _ = AlsaNative.snd_pcm_hw_params_set_rate_resample(pcm, hw, 0);

            var format = request.Formats.Cast<CaptureSampleFormat?>()
                .FirstOrDefault(f => AlsaNative.snd_pcm_hw_params_test_format(pcm, hw, AlsaFormat(f!.Value)) == 0)
                ?? throw new IOException($"{device}: offers none of the sample formats {string.Join(", ", request.Formats.Select(f => AlsaFormatName(f)))}");
            Check(device, $"set format {AlsaFormatName(format)}", AlsaNative.snd_pcm_hw_params_set_format(pcm, hw, AlsaFormat(format)));

            int channels = request.Channels.FirstOrDefault(c => AlsaNative.snd_pcm_hw_params_test_channels(pcm, hw, (uint)c) == 0);
            if (channels > 0)
            {
                Check(device, $"set {channels} channels", AlsaNative.snd_pcm_hw_params_set_channels(pcm, hw, (uint)channels));
            }
            else
            {
                uint near = (uint)request.Channels.DefaultIfEmpty(1).First();
                Check(device, $"set channels near {near}", AlsaNative.snd_pcm_hw_params_set_channels_near(pcm, hw, ref near));
            }

            int rate = request.Rates.FirstOrDefault(r => AlsaNative.snd_pcm_hw_params_test_rate(pcm, hw, (uint)r, 0) == 0);
            if (rate > 0)
            {
                Check(device, $"set rate {rate}", AlsaNative.snd_pcm_hw_params_set_rate(pcm, hw, (uint)rate, 0));
            }
            else
            {
                uint near = 48_000;
                int dir = 0;
                Check(device, "set rate near 48000", AlsaNative.snd_pcm_hw_params_set_rate_near(pcm, hw, ref near, ref dir));
            }

            uint periodUs = (uint)Math.Clamp(request.PeriodMs, 1, 32) * 1000;
            int periodDir = 0;
            Check(device, "set period time", AlsaNative.snd_pcm_hw_params_set_period_time_near(pcm, hw, ref periodUs, ref periodDir));
            uint bufferUs = (uint)Math.Max(request.BufferMs, 2 * request.PeriodMs) * 1000;
            int bufferDir = 0;
            Check(device, "set buffer time", AlsaNative.snd_pcm_hw_params_set_buffer_time_near(pcm, hw, ref bufferUs, ref bufferDir));
            Check(device, "apply hardware parameters", AlsaNative.snd_pcm_hw_params(pcm, hw));

            Check(device, "read the format", AlsaNative.snd_pcm_hw_params_get_format(hw, out int gotFormat));
            Check(device, "read the channel count", AlsaNative.snd_pcm_hw_params_get_channels(hw, out uint gotChannels));
            Check(device, "read the rate", AlsaNative.snd_pcm_hw_params_get_rate(hw, out uint gotRate, out _));
            Check(device, "read the period size", AlsaNative.snd_pcm_hw_params_get_period_size(hw, out nuint gotPeriod, out _));
            var captured = new CaptureFormat((int)gotRate, (int)gotChannels, SampleFormat(device, gotFormat));
            return (captured, (int)Math.Max(1, (ulong)gotPeriod));
        }
        finally
        {
            AlsaNative.snd_pcm_hw_params_free(hw);
        }
    }

    public int Wait(int timeoutMs) => AlsaNative.snd_pcm_wait(_handle, timeoutMs);

    public unsafe long Read(Span<byte> buffer, int frames)
    {
        if (buffer.Length < frames * Format.BytesPerFrame) throw new ArgumentException("buffer shorter than the frames asked for", nameof(buffer));
        fixed (byte* p = buffer)
            return AlsaNative.snd_pcm_readi(_handle, p, (nuint)frames);
    }

    public int Recover(int err) => AlsaNative.snd_pcm_recover(_handle, err, 1);

    public string Describe(int err) => AlsaNative.Error(err);

    public void Dispose()
    {
        if (_handle == 0) return;
        _ = AlsaNative.snd_pcm_drop(_handle);
        _ = AlsaNative.snd_pcm_close(_handle);
        _handle = 0;
    }

    private static void Check(string device, string what, int err)
    {
        if (err < 0) throw new IOException($"{device}: cannot {what}: {AlsaNative.Error(err)}");
    }

    private static int AlsaFormat(CaptureSampleFormat format) => format switch
    {
        CaptureSampleFormat.S16 => AlsaNative.FormatS16Le,
        CaptureSampleFormat.S24Packed => AlsaNative.FormatS24_3Le,
        CaptureSampleFormat.S32 => AlsaNative.FormatS32Le,
        CaptureSampleFormat.F32 => AlsaNative.FormatFloatLe,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "unknown sample format"),
    };

    private static string AlsaFormatName(CaptureSampleFormat format) => format switch
    {
        CaptureSampleFormat.S16 => "S16_LE",
        CaptureSampleFormat.S24Packed => "S24_3LE",
        CaptureSampleFormat.S32 => "S32_LE",
        CaptureSampleFormat.F32 => "FLOAT_LE",
        _ => format.ToString(),
    };

    private static CaptureSampleFormat SampleFormat(string device, int alsaFormat) => alsaFormat switch
    {
        AlsaNative.FormatS16Le => CaptureSampleFormat.S16,
        AlsaNative.FormatS24_3Le => CaptureSampleFormat.S24Packed,
        AlsaNative.FormatS32Le => CaptureSampleFormat.S32,
        AlsaNative.FormatFloatLe => CaptureSampleFormat.F32,
        _ => throw new IOException($"{device}: negotiated ALSA sample format {alsaFormat}, which capture cannot read"),
    };
}
