using System.Runtime.InteropServices;
using System.Threading.Channels;
using WavFusion.Live.Capture;
using WavFusion.Media;

namespace WavFusion.Server.Streaming;

/// <summary>
/// One channel of a caller's pushed audio as an <see cref="IAudioSource"/>: samples at the caller's rate go through
/// the same band-limited <see cref="CaptureConverter"/> as a microphone's, into 16 kHz chunks stamped with their
/// stream time. It is not real time (a push path): the session's channel waits when full, and the wait reaches the
/// caller as backpressure (the server stops reading its stream, HTTP/2 flow control stops the sender). The caller's
/// read loop writes; the session's capture stage only waits for the end here.
/// </summary>
public sealed class PushAudioSource : IAudioSource
{
    private readonly CaptureConverter _converter;
    private readonly TaskCompletionSource<ChannelWriter<AudioChunk>> _output = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<AudioChunk> _chunks = [];

    /// <param name="chunkMs">Length of each delivered chunk (the microphone's, 32 ms, by default).</param>
    public PushAudioSource(string name, int sampleRate, int chunkMs)
    {
        Name = name;
        _converter = new CaptureConverter(new CaptureFormat(sampleRate, 1, CaptureSampleFormat.F32), chunkMs * AudioChunk.SampleRate / 1000);
    }

    public string Name { get; }

    public bool Realtime => false;

    public CaptureCounters Counters { get; } = new();

    /// <summary>16 kHz samples delivered so far.</summary>
    public long SamplesDelivered => _converter.SamplesDelivered;

    public async Task RunAsync(ChannelWriter<AudioChunk> output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!_output.TrySetResult(output)) throw new InvalidOperationException($"{Name}: already started");
        await _ended.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Converts <paramref name="samples"/> (mono, at the caller's rate) and writes the chunks they complete, waiting
    /// while the session is behind. Returns false when the session has stopped taking audio.
    /// </summary>
    public async ValueTask<bool> WriteAsync(ReadOnlyMemory<float> samples, CancellationToken cancellationToken)
    {
        var output = await _output.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        _chunks.Clear();
        _converter.Write(MemoryMarshal.AsBytes(samples.Span), _chunks);
        return await DeliverAsync(output, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The caller's audio has ended: the last partial chunk goes out, then the session's audio ends.</summary>
    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (_output.Task.IsCompletedSuccessfully && _converter.Flush() is { } last)
            {
                _chunks.Clear();
                _chunks.Add(last);
                await DeliverAsync(_output.Task.Result, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _ended.TrySetResult();
        }
    }

    /// <summary>Ends the audio at once, dropping any partial chunk (the caller went away or input was cut).</summary>
    public void Abort() => _ended.TrySetResult();

    private async ValueTask<bool> DeliverAsync(ChannelWriter<AudioChunk> output, CancellationToken cancellationToken)
    {
        foreach (var chunk in _chunks)
        {
            try
            {
                await output.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException)
            {
                return false;
            }
            Counters.Deliver();
        }
        return true;
    }

    public ValueTask DisposeAsync()
    {
        Abort();
        return ValueTask.CompletedTask;
    }
}
