using System.Runtime.CompilerServices;
using System.Threading.Channels;

using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Decoding;

namespace WavFusion.Speech.Streaming;

/// <summary>
/// Live transcript from timestamped audio chunks: the buffer since the last cut is re-transcribed every
/// <see cref="StreamingOptions.MinChunkSeconds"/> of new speech, words two hypotheses agree on are
/// committed (<see cref="LocalAgreement"/>), the buffer is cut after committed text once it grows long,
/// and silence is not transcribed at all. Speech is told from silence by an <see cref="IVoiceActivityDetector"/>:
/// the energy gate by default, or the stream's shared detector, whose decisions the live pipeline passes in
/// with each chunk so that the transcript and the emotion windows agree on what is speech. One instance per stream.
/// </summary>
public sealed class StreamingTranscriber
{
    private readonly IHypothesisSource _source;
    private readonly StreamingOptions _options;
    private readonly IVoiceActivityDetector _vad;
    private readonly LocalAgreement _agreement = new();
    private readonly List<float> _buffer = [];
    private double _bufferStart;
    private double _unprocessedSeconds;
    private double _silenceSeconds;
    private bool _heardSpeech;

    public StreamingTranscriber(IHypothesisSource source, StreamingOptions? options = null, IVoiceActivityDetector? voiceActivity = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        _source = source;
        _options = options ?? new StreamingOptions();
        _vad = voiceActivity ?? new EnergyVoiceActivityDetector(_options.SilenceRms);
    }

    /// <summary>Stream time (seconds) of the first sample in the buffer.</summary>
    public double BufferStart => _bufferStart;
    public double BufferSeconds => _buffer.Count / (double)WhisperAudio.SampleRate;
    public LocalAgreement Agreement => _agreement;

    public async IAsyncEnumerable<TranscriptSegment> TranscribeAsync(IAsyncEnumerable<AudioChunk> audio,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var chunk in audio.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            await foreach (var segment in PushAsync(chunk, cancellationToken).ConfigureAwait(false))
                yield return segment;
        }
        foreach (var segment in Finish()) yield return segment;
    }

    /// <summary>
    /// Live form: transcribes chunks as a capture channel delivers them. Every chunk that arrived while the
    /// previous step ran joins the next step, so on a machine slower than real time the step widens (up to
    /// the buffer bound) and the transcript keeps pace with the stream instead of falling behind it.
    /// </summary>
    public IAsyncEnumerable<TranscriptSegment> TranscribeAsync(ChannelReader<AudioChunk> audio, CancellationToken cancellationToken = default) =>
        TranscribeAsync(audio, chunk => (chunk, _vad.Detect(chunk).IsSpeech), cancellationToken);

    /// <summary>
    /// The live form for a stream whose voice activity a detector shared with other stages has already decided
    /// (the live pipeline's VAD stage), so the transcript and the emotion windows agree on what is speech.
    /// </summary>
    public IAsyncEnumerable<TranscriptSegment> TranscribeAsync(ChannelReader<VoicedChunk> audio, CancellationToken cancellationToken = default) =>
        TranscribeAsync(audio, voiced => (voiced.Chunk, voiced.Activity.IsSpeech), cancellationToken);

    private async IAsyncEnumerable<TranscriptSegment> TranscribeAsync<T>(ChannelReader<T> audio, Func<T, (AudioChunk Chunk, bool Speech)> classify,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(audio);
        while (await audio.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            // Up to the buffer bound, but always at least one step's worth of new audio, so a full buffer is
            // transcribed and cut rather than waited on.
            while ((BufferSeconds < _options.MaxBufferSeconds - _options.MinChunkSeconds || _unprocessedSeconds < _options.MinChunkSeconds)
                   && audio.TryRead(out var item))
            {
                var (chunk, speech) = classify(item);
                if (!Append(chunk, speech)) continue;
                await foreach (var s in EndUtteranceAsync(cancellationToken).ConfigureAwait(false)) yield return s;
            }
            if (_unprocessedSeconds < _options.MinChunkSeconds) continue;
            await foreach (var s in StepAsync(cancellationToken).ConfigureAwait(false)) yield return s;
        }
        foreach (var segment in Finish()) yield return segment;
    }

    /// <summary>Steps taken so far (transcriptions of the buffer).</summary>
    public int Steps { get; private set; }

    /// <summary>Adds one chunk; yields what the chunk made final and the current interim tail.</summary>
    public IAsyncEnumerable<TranscriptSegment> PushAsync(AudioChunk chunk, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        return PushAsync(chunk, _vad.Detect(chunk), cancellationToken);
    }

    /// <summary>
    /// Adds one chunk whose speech activity a detector shared with other stages has already decided; yields
    /// what the chunk made final and the current interim tail.
    /// </summary>
    public async IAsyncEnumerable<TranscriptSegment> PushAsync(AudioChunk chunk, SpeechActivity activity,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        if (Append(chunk, activity.IsSpeech))
        {
            await foreach (var s in EndUtteranceAsync(cancellationToken).ConfigureAwait(false)) yield return s;
            yield break;
        }
        if (_unprocessedSeconds < _options.MinChunkSeconds) yield break;
        await foreach (var s in StepAsync(cancellationToken).ConfigureAwait(false)) yield return s;
    }

    /// <summary>Buffers one chunk (of leading silence only the pre-roll is kept); true when it ends the utterance.</summary>
    private bool Append(AudioChunk chunk, bool speech)
    {
        double seconds = chunk.Samples.Length / (double)WhisperAudio.SampleRate;
        if (!speech && !_heardSpeech)
        {
            // Leading silence costs no decoding; only its last PreRollSeconds stay, to start the first word whole.
            // Audio that does not follow on from the buffer (capture dropped some) starts a new pre-roll.
            if (_buffer.Count == 0 || Math.Abs(chunk.StreamTime.TotalSeconds - (_bufferStart + BufferSeconds)) > 0.5 / WhisperAudio.SampleRate)
            {
                _buffer.Clear();
                _bufferStart = chunk.StreamTime.TotalSeconds;
            }
            _buffer.AddRange(chunk.Samples);
            int excess = _buffer.Count - (int)Math.Round(_options.PreRollSeconds * WhisperAudio.SampleRate);
            if (excess > 0)
            {
                _buffer.RemoveRange(0, excess);
                _bufferStart += excess / (double)WhisperAudio.SampleRate;
            }
            return false;
        }
        if (_buffer.Count == 0) _bufferStart = chunk.StreamTime.TotalSeconds;
        _buffer.AddRange(chunk.Samples);
        _unprocessedSeconds += seconds;
        _silenceSeconds = speech ? 0 : _silenceSeconds + seconds;
        _heardSpeech = true;
        return _silenceSeconds >= _options.EndOfUtteranceSeconds;
    }

    /// <summary>Transcribes what is buffered one last time, then commits it all and clears the buffer.</summary>
    private async IAsyncEnumerable<TranscriptSegment> EndUtteranceAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var s in StepAsync(cancellationToken).ConfigureAwait(false)) yield return s;
        foreach (var s in Finish()) yield return s;
    }

    private async IAsyncEnumerable<TranscriptSegment> StepAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        _unprocessedSeconds = 0;
        if (_buffer.Count == 0) yield break;
        Steps++;
        var words = await _source.TranscribeAsync([.. _buffer], _agreement.PromptText(_options.PromptChars), cancellationToken).ConfigureAwait(false);
        _agreement.Insert(words.Select(w => w.Shift(_bufferStart)).ToList());
        var committed = _agreement.Flush();
        if (committed.Count > 0) yield return Segment(committed, true);
        if (_agreement.Pending.Count > 0) yield return Segment(_agreement.Pending, false);

        if (BufferSeconds > _options.MaxBufferSeconds - _options.MinChunkSeconds)
        {
            var forced = _agreement.Complete();
            if (forced.Count > 0) yield return Segment(forced, true);
            Cut(Math.Max(_agreement.CommittedEnd, _bufferStart + BufferSeconds - _options.MinChunkSeconds));
        }
        else if (BufferSeconds > _options.TrimSeconds && _agreement.CommittedEnd > _bufferStart)
            Cut(_agreement.CommittedEnd);
    }

    /// <summary>Commits what is pending and clears the buffer (end of utterance or of stream).</summary>
    public IEnumerable<TranscriptSegment> Finish()
    {
        var rest = _agreement.Complete();
        double end = _bufferStart + BufferSeconds;
        _buffer.Clear();
        _bufferStart = end;
        _unprocessedSeconds = 0;
        _silenceSeconds = 0;
        _heardSpeech = false;
        if (rest.Count > 0) yield return Segment(rest, true);
    }

    /// <summary>Drops buffered audio before stream time <paramref name="time"/>.</summary>
    private void Cut(double time)
    {
        int samples = (int)Math.Clamp(Math.Round((time - _bufferStart) * WhisperAudio.SampleRate), 0, _buffer.Count);
        _buffer.RemoveRange(0, samples);
        _bufferStart += samples / (double)WhisperAudio.SampleRate;
    }

    private TranscriptSegment Segment(IReadOnlyList<TimedWord> words, bool final) =>
        new(string.Join(' ', words.Select(w => w.Text)), TimeSpan.FromSeconds(words[0].Start), TimeSpan.FromSeconds(words[^1].End),
            final, final ? 1.0 : _options.InterimStability);
}
