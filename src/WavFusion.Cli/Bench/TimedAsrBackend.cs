using System.Diagnostics;
using WavFusion.Live.Asr;
using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Decoding;

namespace WavFusion.Cli.Bench;

/// <summary>
/// Times every step of the recogniser it wraps (wall time from the call to its words, so waiting for the cores the
/// emotion model also uses counts), for the live transcript's real-time factor in `bench live`.
/// </summary>
internal sealed class TimedAsrBackend(IAsrBackend inner) : IAsrBackend
{
    private readonly Lock _gate = new();
    private int _steps;
    private double _seconds;
    private double _maxStep;
    private double _buffered;

    public AsrBackendKind Kind => inner.Kind;

    public string Description => inner.Description;

    public WhisperSpecialTokens Special => inner.Special;

    /// <summary>Steps so far, their total and longest time, and the seconds of audio they transcribed (buffers overlap).</summary>
    public (int Steps, double Seconds, double MaxStepSeconds, double BufferedSeconds) Totals
    {
        get
        {
            lock (_gate) return (_steps, _seconds, _maxStep, _buffered);
        }
    }

    public async Task<IReadOnlyList<TimedWord>> TranscribeAsync(float[] audio, string prompt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(audio);
        long start = Stopwatch.GetTimestamp();
        var words = await inner.TranscribeAsync(audio, prompt, cancellationToken).ConfigureAwait(false);
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        lock (_gate)
        {
            _steps++;
            _seconds += seconds;
            _maxStep = Math.Max(_maxStep, seconds);
            _buffered += audio.Length / (double)AudioChunk.SampleRate;
        }
        return words;
    }

    public IAsyncEnumerable<TranscriptSegment> TranscribeFileAsync(float[] audio, CancellationToken cancellationToken = default) =>
        inner.TranscribeFileAsync(audio, cancellationToken);

    public void Dispose() => inner.Dispose();
}
