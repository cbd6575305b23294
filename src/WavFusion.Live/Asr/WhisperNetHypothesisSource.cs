using System.Runtime.CompilerServices;
using System.Text;

using Whisper.net;
using Whisper.net.LibraryLoader;

using WavFusion.Core.Checkpoints;
using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Decoding;

namespace WavFusion.Live.Asr;

/// <summary>
/// Hypotheses from whisper.cpp in process (Whisper.net): the model is loaded once into a <see cref="WhisperFactory"/>
/// and shared; each call builds its own processor, because Whisper.net fixes the prompt when a processor is built and
/// the streaming transcriber's prompt (the committed text) changes every step. Decoding is greedy at temperature 0
/// without fallback, like <see cref="Speech.Streaming.WhisperHypothesisSource"/>, and words carry whisper.cpp's
/// token-level timestamps rather than a segment's span shared out by characters.
/// </summary>
public sealed class WhisperNetHypothesisSource : IAsrBackend
{
    /// <summary>whisper.cpp returns nothing for less than 1 s of audio, so shorter buffers are padded with silence.</summary>
    private const int MinSamples = WhisperAudio.SampleRate;
    /// <summary>whisper.cpp's timestamps count centiseconds.</summary>
    private const double TimestampSeconds = 0.01;
    /// <summary>Encoder positions per second of audio (two mel frames each).</summary>
    private const int EncoderPositionsPerSecond = 50;

    private readonly WhisperFactory _factory;
    private readonly WhisperTokenizer _tokenizer;
    private readonly AsrOptions _options;
    private readonly string _path;
    private readonly int _audioContextRounding;
    /// <summary>The model's encoder positions (1500 for the published models); whisper.cpp refuses a larger audio_ctx.</summary>
    private readonly int _maxAudioContext;

    private WhisperNetHypothesisSource(WhisperFactory factory, WhisperTokenizer tokenizer, AsrOptions options, string path, int audioContextRounding, int maxAudioContext)
    {
        _maxAudioContext = maxAudioContext;
        _factory = factory;
        _tokenizer = tokenizer;
        _options = options;
        _path = path;
        _audioContextRounding = audioContextRounding;
    }

    /// <summary>
    /// Loads a whisper.cpp ggml file. The header is read and checked by our own reader first, so a file that is not a
    /// Whisper model fails with the file and the reason rather than whisper.cpp's bare load failure, and the vocabulary
    /// it holds turns token ids back into bytes. <paramref name="audioContextRounding"/> is in mel frames (100 = 1 s) as
    /// for <see cref="Speech.Streaming.WhisperHypothesisSource"/>: a streaming buffer is encoded at its own length
    /// rounded up to it (whisper.cpp's audio_ctx) instead of as a padded 30 s window; 0 encodes full windows.
    /// </summary>
    public static WhisperNetHypothesisSource Load(string path, AsrOptions? options = null,
        int audioContextRounding = Speech.Streaming.WhisperHypothesisSource.DefaultAudioContextRounding)
    {
        ArgumentNullException.ThrowIfNull(path);
        options ??= new AsrOptions();
        if (options.Threads < 1) throw new AsrOptionException("--threads", $"{options.Threads} is below 1");
        if (options.WithoutTimestamps) throw new AsrOptionException("--no-timestamps", "not available with the whispernet backend (whisper.cpp always predicts timestamps)");
        if (options.Weights != Core.Quantization.WeightFormat.Fp32)
            throw new AsrOptionException("--weights", $"{Core.Quantization.WeightFormats.Name(options.Weights)} applies to the torchsharp backend; whisper.cpp runs the ggml file's own tensor types");
        if (Directory.Exists(path))
            throw new CheckpointException($"{path}: a folder; the whispernet backend loads whisper.cpp ggml files (a Hugging Face folder loads with --asr torchsharp)");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no ggml model file here", path);

        WhisperTokenizer tokenizer;
        int maxAudioContext;
        using (var header = WhisperGgmlFile.ReadHeader(path))
        {
            maxAudioContext = header.Config.MaxSourcePositions;
            tokenizer = new WhisperTokenizer(header.Vocabulary, header.SpecialTokens);
        }
        WhisperFactory factory;
        try
        {
            factory = WhisperFactory.FromPath(path);
        }
        catch (WhisperModelLoadException e)
        {
            throw new CheckpointException($"{path}: whisper.cpp could not load it: {e.Message}");
        }
        return new WhisperNetHypothesisSource(factory, tokenizer, options, path, audioContextRounding, maxAudioContext);
    }

    public AsrBackendKind Kind => AsrBackendKind.WhisperNet;
    public string Description => $"whispernet (whisper.cpp {RuntimeOptions.LoadedLibrary}) {_path}";
    public WhisperSpecialTokens Special => _tokenizer.Special;

    public Task<IReadOnlyList<TimedWord>> TranscribeAsync(float[] audio, string prompt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(audio);
        // whisper.cpp decodes on the calling thread; a worker thread keeps the caller's loop responsive.
        return Task.Run<IReadOnlyList<TimedWord>>(async () =>
        {
            double seconds = audio.Length / (double)WhisperAudio.SampleRate;
            var builder = Builder(greedy: true).WithTokenTimestamps().WithNoContext();
            if (!string.IsNullOrWhiteSpace(prompt)) builder.WithPrompt(prompt);
            if (_audioContextRounding > 0) builder.WithAudioContextSize(AudioContext(Math.Max(audio.Length, MinSamples)));
            await using var processor = builder.Build();
            var segments = new List<SegmentData>();
            await foreach (var segment in processor.ProcessAsync(Padded(audio), cancellationToken).ConfigureAwait(false))
                segments.Add(segment);
            return Words(segments, seconds);
        }, cancellationToken);
    }

    public async IAsyncEnumerable<TranscriptSegment> TranscribeFileAsync(float[] audio, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(audio);
        await using var processor = Builder(greedy: _options.BeamSize <= 1).Build();
        // whisper.cpp assumes 30 s windows; a model with a shorter encoder context can give times past the recording.
        var duration = TimeSpan.FromSeconds(audio.Length / (double)WhisperAudio.SampleRate);
        await foreach (var s in processor.ProcessAsync(Padded(audio), cancellationToken).ConfigureAwait(false))
        {
            var start = s.Start < duration ? s.Start : duration;
            yield return new TranscriptSegment(s.Text.Trim(), start, s.End < start ? start : s.End > duration ? duration : s.End, true, 1.0);
        }
    }

    private WhisperProcessorBuilder Builder(bool greedy)
    {
        var builder = _factory.CreateBuilder()
            .WithThreads(_options.Threads)
            .WithLanguage(_options.Language ?? (_tokenizer.Special.IsMultilingual ? "auto" : "en"))
            .WithTemperature(0)
            .WithTemperatureInc(0);
        if (_options.Translate) builder.WithTranslate();
        if (!greedy) builder.WithBeamSearchSamplingStrategy(b => b.WithBeamSize(_options.BeamSize));
        return builder;
    }

    /// <summary>Encoder positions for <paramref name="samples"/> of audio: mel frames rounded up as our port rounds them, halved by the encoder's stride.</summary>
    private int AudioContext(int samples)
    {
        int frames = (samples + WhisperAudio.HopLength - 1) / WhisperAudio.HopLength;
        int rounded = (frames + _audioContextRounding - 1) / _audioContextRounding * _audioContextRounding;
        return Math.Min(_maxAudioContext, rounded / 2);
    }

    private static float[] Padded(float[] audio)
    {
        if (audio.Length >= MinSamples) return audio;
        var padded = new float[MinSamples];
        audio.CopyTo(padded, 0);
        return padded;
    }

    /// <summary>
    /// Text tokens grouped into words: a token whose bytes begin with a space starts a word, as in Whisper's byte-level
    /// BPE. A word spans its first token's start to its last token's end. The words' bytes are decoded together, so a
    /// character split across tokens comes out whole. Where whisper.cpp's token times carry nothing (all of a segment's
    /// tokens at one instant, as when the model predicts no timestamp tokens), the segment's span, else the buffer's, is
    /// shared among its tokens by byte count, as <see cref="TimedWord.FromSegments"/> shares it for our port. Times are
    /// kept in order and inside the buffer (heuristic token times can overlap a little, and padding can place them past
    /// the audio).
    /// </summary>
    private List<TimedWord> Words(IEnumerable<SegmentData> segments, double seconds)
    {
        var words = new List<TimedWord>();
        var bytes = new List<byte>();
        double start = 0, end = 0, previousEnd = 0;

        void Close()
        {
            string text = Encoding.UTF8.GetString([.. bytes]).Trim();
            bytes.Clear();
            if (text.Length == 0) return;
            double s = Math.Clamp(Math.Max(start, previousEnd), 0, seconds);
            double e = Math.Clamp(Math.Max(end, s), s, seconds);
            words.Add(new TimedWord(text, s, e));
            previousEnd = e;
        }

        foreach (var segment in segments)
        {
            var tokens = segment.Tokens.Where(t => t.Id < _tokenizer.Special.EndOfText && _tokenizer.Bytes(t.Id).Length > 0).ToList();
            if (tokens.Count == 0) continue;
            var times = TokenTimes(tokens, segment, seconds);
            for (int i = 0; i < tokens.Count; i++)
            {
                var piece = _tokenizer.Bytes(tokens[i].Id);
                if (bytes.Count > 0 && piece[0] == (byte)' ') Close();
                if (bytes.Count == 0) start = times[i].Start;
                bytes.AddRange(piece);
                end = times[i].End;
            }
        }
        if (bytes.Count > 0) Close();
        return words;
    }

    private (double Start, double End)[] TokenTimes(List<WhisperToken> tokens, SegmentData segment, double seconds)
    {
        if (tokens.Max(t => t.End) > tokens.Min(t => t.Start))
            return tokens.Select(t => (t.Start * TimestampSeconds, t.End * TimestampSeconds)).ToArray();
        double from = segment.Start.TotalSeconds, to = Math.Min(segment.End.TotalSeconds, seconds);
        if (to <= from) (from, to) = (0, seconds);
        double total = tokens.Sum(t => _tokenizer.Bytes(t.Id).Length);
        var times = new (double, double)[tokens.Count];
        double at = from;
        for (int i = 0; i < tokens.Count; i++)
        {
            double span = (to - from) * _tokenizer.Bytes(tokens[i].Id).Length / total;
            times[i] = (at, at + span);
            at += span;
        }
        return times;
    }

    public void Dispose() => _factory.Dispose();
}
