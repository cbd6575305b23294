using System.Runtime.InteropServices;
using NAudio.Dsp;
using WavFusion.Media;

namespace WavFusion.Live.Capture;

/// <summary>
/// Turns a device's interleaved native frames (any rate, channel count, sample format) into 16 kHz mono
/// <see cref="AudioChunk"/>s of a fixed length, each stamped with the stream time of its first sample:
/// samples delivered before it / 16 000. The stamp counts samples, not the wall clock, so time advances at the
/// sample rate however the reads are jittered. One instance per stream; not thread-safe (the capture thread owns it).
/// </summary>
public sealed class CaptureConverter
{
    // Resampling works block by block so the scratch buffers stay bounded whatever a read returns.
    private const int Block = 4096;

    private readonly WdlResampler? _resampler;
    private readonly float[] _mono = new float[Block];
    private readonly float[] _resampled;
    private float[] _pending;
    private int _pendingCount;
    private long _delivered;

    /// <param name="input">The native format of the frames <see cref="Write"/> receives.</param>
    /// <param name="chunkSamples">Samples per delivered chunk at 16 kHz (512 for 32 ms).</param>
    public CaptureConverter(CaptureFormat input, int chunkSamples)
    {
        if (input.SampleRate <= 0) throw new ArgumentOutOfRangeException(nameof(input), input.SampleRate, "sample rate must be positive");
        if (input.Channels <= 0) throw new ArgumentOutOfRangeException(nameof(input), input.Channels, "channel count must be positive");
        if (chunkSamples <= 0) throw new ArgumentOutOfRangeException(nameof(chunkSamples), chunkSamples, "chunk length must be positive");
        _ = input.BytesPerSample;
        Input = input;
        ChunkSamples = chunkSamples;
        _pending = new float[chunkSamples];
        if (input.SampleRate != AudioChunk.SampleRate)
        {
            // WDL in windowed-sinc mode: a band-limited resampler whose low-pass follows the ratio, so a 48 kHz
            // microphone's 8-24 kHz content is removed before decimation instead of folding into speech as linear
            // interpolation (ALSA's default `plug` converter) would fold it. 64 taps, 32 interpolated phases: the
            // measured alias rejection and passband error are in the README's performance notes.
            _resampler = new WdlResampler();
            _resampler.SetMode(true, 0, true, 64, 32);
            _resampler.SetFeedMode(true);
            _resampler.SetRates(input.SampleRate, AudioChunk.SampleRate);
        }
        _resampled = new float[(int)Math.Ceiling(Block * (double)AudioChunk.SampleRate / input.SampleRate) + 64];
    }

    public CaptureFormat Input { get; }

    public int ChunkSamples { get; }

    /// <summary>16 kHz samples handed out in chunks so far.</summary>
    public long SamplesDelivered => _delivered;

    /// <summary>
    /// Converts whole interleaved frames and appends every chunk they complete to <paramref name="completed"/>.
    /// Samples that do not yet fill a chunk wait for the next call.
    /// </summary>
    public void Write(ReadOnlySpan<byte> interleaved, ICollection<AudioChunk> completed)
    {
        ArgumentNullException.ThrowIfNull(completed);
        int frameBytes = Input.BytesPerFrame;
        if (interleaved.Length % frameBytes != 0)
            throw new ArgumentException($"{interleaved.Length} bytes is not a whole number of {frameBytes}-byte frames ({Input})", nameof(interleaved));
        int frames = interleaved.Length / frameBytes;
        for (int start = 0; start < frames; start += Block)
        {
            int n = Math.Min(Block, frames - start);
            Downmix(interleaved.Slice(start * frameBytes, n * frameBytes), _mono.AsSpan(0, n));
            if (_resampler is null)
            {
                Append(_mono.AsSpan(0, n), completed);
                continue;
            }
            int wanted = _resampler.ResamplePrepare(n, 1, out Span<float> inBuffer);
            _mono.AsSpan(0, Math.Min(n, wanted)).CopyTo(inBuffer);
            int produced = _resampler.ResampleOut(_resampled, Math.Min(n, wanted), _resampled.Length, 1);
            Append(_resampled.AsSpan(0, produced), completed);
        }
    }

    /// <summary>
    /// The samples that do not fill a whole chunk, as a last shorter chunk (null when none), for inputs that end.
    /// The resampler's few milliseconds of look-ahead are not drained: an input that ends is a file, and files
    /// arrive at 16 kHz already.
    /// </summary>
    public AudioChunk? Flush()
    {
        if (_pendingCount == 0) return null;
        var chunk = new AudioChunk(_pending.AsSpan(0, _pendingCount).ToArray(), StreamTimeOf(_delivered));
        _delivered += _pendingCount;
        _pendingCount = 0;
        return chunk;
    }

    /// <summary>Stream time of the 16 kHz sample with this index: exact, since a sample lasts 625 ticks.</summary>
    public static TimeSpan StreamTimeOf(long sampleIndex) => TimeSpan.FromTicks(sampleIndex * TimeSpan.TicksPerSecond / AudioChunk.SampleRate);

    private void Append(ReadOnlySpan<float> samples, ICollection<AudioChunk> completed)
    {
        while (!samples.IsEmpty)
        {
            int take = Math.Min(samples.Length, ChunkSamples - _pendingCount);
            samples[..take].CopyTo(_pending.AsSpan(_pendingCount));
            _pendingCount += take;
            samples = samples[take..];
            if (_pendingCount < ChunkSamples) break;
            // The finished buffer becomes the chunk's own array (chunks are immutable once sent).
            completed.Add(new AudioChunk(_pending, StreamTimeOf(_delivered)));
            _delivered += ChunkSamples;
            _pending = new float[ChunkSamples];
            _pendingCount = 0;
        }
    }

    /// <summary>
    /// Decodes each frame and averages its channels (a plain mean keeps a centred voice at its level). Samples are
    /// read in host order: every platform .NET 10 runs capture on (x64, arm64) is little-endian, like the formats.
    /// </summary>
    private void Downmix(ReadOnlySpan<byte> frames, Span<float> mono)
    {
        int channels = Input.Channels;
        float scale = 1f / channels;
        switch (Input.SampleFormat)
        {
            case CaptureSampleFormat.S16:
            {
                var s = MemoryMarshal.Cast<byte, short>(frames);
                for (int f = 0; f < mono.Length; f++)
                {
                    int sum = 0;
                    for (int c = 0; c < channels; c++) sum += s[f * channels + c];
                    mono[f] = sum * scale / 32768f;
                }
                break;
            }
            case CaptureSampleFormat.S24Packed:
                for (int f = 0; f < mono.Length; f++)
                {
                    long sum = 0;
                    for (int c = 0; c < channels; c++)
                    {
                        var b = frames.Slice((f * channels + c) * 3, 3);
                        sum += (b[0] | (b[1] << 8) | ((sbyte)b[2] << 16));
                    }
                    mono[f] = (float)(sum * (double)scale / 8388608.0);
                }
                break;
            case CaptureSampleFormat.S32:
            {
                var s = MemoryMarshal.Cast<byte, int>(frames);
                for (int f = 0; f < mono.Length; f++)
                {
                    long sum = 0;
                    for (int c = 0; c < channels; c++) sum += s[f * channels + c];
                    mono[f] = (float)(sum * (double)scale / 2147483648.0);
                }
                break;
            }
            case CaptureSampleFormat.F32:
            {
                var s = MemoryMarshal.Cast<byte, float>(frames);
                for (int f = 0; f < mono.Length; f++)
                {
                    float sum = 0;
                    for (int c = 0; c < channels; c++) sum += s[f * channels + c];
                    mono[f] = sum * scale;
                }
                break;
            }
            default:
                throw new InvalidOperationException($"unknown sample format {Input.SampleFormat}");
        }
    }
}
