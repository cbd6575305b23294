using System.Runtime.CompilerServices;
using TorchSharp;
using WavFusion.Live.Asr;
using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Decoding;

namespace WavFusion.Cli.Bench;

/// <summary>
/// A Whisper of real dimensions with random weights, as the live transcript's recogniser in `bench live`. Every
/// step runs the real front end, the encoder over the buffer (rounded to 1 s, as the live source does) and greedy
/// decoding with the logit filters. Random weights cannot say what was said or when to stop, so each step decodes
/// exactly as many tokens as speech of the buffer's length has (end-of-text suppressed; as `bench asr` streams),
/// and the words handed to LocalAgreement are a simulated speaker's, one every 0.4 s of stream time, so commits,
/// prompts and buffer cuts behave as with a real model on real speech. One stream: the words' stream time is
/// followed from buffer to buffer (see <see cref="BufferStart"/>).
/// </summary>
internal sealed class SimulatedSpeakerWhisper : IAsrBackend
{
    private readonly WhisperForConditionalGeneration _model;
    private readonly LogMelSpectrogram _frontEnd;
    private readonly WhisperTranscriber _transcriber;
    private readonly Lock _gate = new();
    private float[]? _previous;
    private double _previousStart;

    private SimulatedSpeakerWhisper(WhisperForConditionalGeneration model, string size)
    {
        _model = model;
        _frontEnd = new LogMelSpectrogram(model.Config.NumMelBins);
        var tokenizer = BenchStream.WordTokenizer(model.Config.VocabSize);
        Special = tokenizer.Special;
        _transcriber = new WhisperTranscriber(model, tokenizer, _frontEnd);
        Description = $"whisper-{size} dimensions, random weights (seed 0), simulated speaker";
        Parameters = model.parameters().Sum(p => p.numel());
    }

    /// <summary>Builds the model at the published dimensions of <paramref name="size"/> (tiny, base, small).</summary>
    public static SimulatedSpeakerWhisper Create(string size)
    {
        torch.manual_seed(0);
        var model = new WhisperForConditionalGeneration(AsrBenchmark.Dimensions(size));
        model.eval();
        return new SimulatedSpeakerWhisper(model, size);
    }

    public AsrBackendKind Kind => AsrBackendKind.TorchSharp;

    public string Description { get; }

    public long Parameters { get; }

    public WhisperSpecialTokens Special { get; }

    public Task<IReadOnlyList<TimedWord>> TranscribeAsync(float[] audio, string prompt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(audio);
        return Task.Run<IReadOnlyList<TimedWord>>(() =>
        {
            double seconds = audio.Length / (double)AudioChunk.SampleRate;
            var options = new WhisperDecodingOptions
            {
                Language = "en",
                BeamSize = null,
                Temperatures = [0.0],
                ConditionOnPreviousText = false,
                AudioContextRounding = WavFusion.Speech.Streaming.WhisperHypothesisSource.DefaultAudioContextRounding,
                InitialPrompt = prompt,
                // One window decoded to a fixed length: no timestamps to split it, no end-of-text to stop it early.
                WithoutTimestamps = true,
                SuppressTokens = [Special.EndOfText],
                MaxSampledTokens = BenchStream.TokensPerHypothesis + (int)Math.Ceiling(BenchStream.TokensPerSecond * seconds),
            };
            using (torch.no_grad()) _transcriber.Transcribe(audio, options, cancellationToken);
            lock (_gate) return Said(BufferStart(audio), seconds);
        }, cancellationToken);
    }

    /// <summary>
    /// The buffer's start on the simulated speaker's clock. The transcriber only cuts its buffer at the front and
    /// appends to it, so a buffer that continues the previous one starts where its first samples sit in that one;
    /// any other buffer (a new utterance) starts a fresh stretch of the clock after the previous one.
    /// </summary>
    private double BufferStart(float[] audio)
    {
        double start = 0;
        if (_previous is { } previous)
        {
            start = _previousStart + previous.Length / (double)AudioChunk.SampleRate + 1;
            for (int offset = 0; offset < previous.Length; offset++)
            {
                int overlap = previous.Length - offset;
                if (overlap > audio.Length || previous[offset] != audio[0]) continue;
                if (previous.AsSpan(offset).SequenceEqual(audio.AsSpan(0, overlap)))
                {
                    start = _previousStart + offset / (double)AudioChunk.SampleRate;
                    break;
                }
            }
        }
        _previous = audio;
        _previousStart = start;
        return start;
    }

    /// <summary>The simulated speaker's words heard completely in the buffer, buffer-relative.</summary>
    private static List<TimedWord> Said(double bufferStart, double seconds)
    {
        const double word = BenchStream.WordSeconds;
        var words = new List<TimedWord>();
        for (long k = (long)Math.Ceiling(bufferStart / word); (k + 1) * word <= bufferStart + seconds; k++)
            words.Add(new TimedWord(BenchStream.Letters((int)(k % 17576), 3), k * word - bufferStart, (k + 0.75) * word - bufferStart));
        return words;
    }

    public async IAsyncEnumerable<TranscriptSegment> TranscribeFileAsync(float[] audio, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Task.CompletedTask.ConfigureAwait(false);
        throw new NotSupportedException("the benchmark's random-weight Whisper transcribes live streams only");
#pragma warning disable CS0162 // an iterator needs a yield
        yield break;
#pragma warning restore CS0162
    }

    public void Dispose()
    {
        _model.Dispose();
        _frontEnd.Dispose();
    }
}
