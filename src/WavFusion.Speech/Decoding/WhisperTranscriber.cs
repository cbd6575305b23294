using System.IO.Compression;
using System.Text;
using TorchSharp;
using static TorchSharp.torch;

using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Streaming;

namespace WavFusion.Speech.Decoding;

/// <summary>
/// openai-whisper's decoding on our model: greedy, sampling (best of N) and beam search over one audio
/// window sharing one KV cache, the logit rules, no-speech probability, language detection, and
/// <see cref="Transcribe"/>, which walks long audio window by window with temperature fallback.
/// </summary>
public sealed class WhisperTranscriber
{
    private readonly WhisperForConditionalGeneration _model;
    private readonly WhisperTokenizer _tokenizer;
    private readonly LogMelSpectrogram _frontEnd;
    private readonly int[] _blank;
    private readonly int[] _nonSpeech;

    public WhisperTranscriber(WhisperPretrained pretrained) : this(pretrained.Model, pretrained.Tokenizer, pretrained.FrontEnd) { }

    public WhisperTranscriber(WhisperForConditionalGeneration model, WhisperTokenizer tokenizer, LogMelSpectrogram frontEnd)
    {
        if (tokenizer.Special.VocabularySize != model.Config.VocabSize)
            throw new ArgumentException($"tokenizer vocabulary {tokenizer.Special.VocabularySize} does not match the model's {model.Config.VocabSize}", nameof(tokenizer));
        _model = model;
        _tokenizer = tokenizer;
        _frontEnd = frontEnd;
        _blank = [.. tokenizer.Encode(" ")];
        _nonSpeech = [.. tokenizer.NonSpeechTokens()];
    }

    private WhisperSpecialTokens Special => _tokenizer.Special;

    /// <summary>Mel frames one encoder pass takes (3000 for the published models).</summary>
    public int WindowFrames => 2 * _model.Config.MaxSourcePositions;
    public double WindowSeconds => WindowFrames * (double)WhisperAudio.HopLength / WhisperAudio.SampleRate;

    /// <summary>
    /// Encoder output (1, positions, d_model) of a window of features (n_mels, frames ≤ window), padded to
    /// the full window or, with <paramref name="audioContextRounding"/> &gt; 0, to its frames rounded up to
    /// a multiple of that (see <see cref="WhisperDecodingOptions.AudioContextRounding"/>).
    /// </summary>
    public Tensor EncodeWindow(Tensor features, int audioContextRounding = 0)
    {
        using var scope = torch.NewDisposeScope();
        var device = _model.parameters().First().device;
        var fitted = LogMelSpectrogram.PadOrTrim(features, ContextFrames(features.shape[^1], audioContextRounding)).unsqueeze(0).to(device);
        return _model.Encode(fitted).MoveToOuterDisposeScope();
    }

    /// <summary>Mel frames encoded for a window of <paramref name="frames"/> frames (see <see cref="EncodeWindow"/>).</summary>
    public long ContextFrames(long frames, int audioContextRounding)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(audioContextRounding);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(frames);
        if (audioContextRounding == 0) return WindowFrames;
        long rounded = (frames + audioContextRounding - 1) / audioContextRounding * audioContextRounding;
        return Math.Min(rounded, WindowFrames);
    }

    /// <summary>The most likely language and its probability among the model's language tokens.</summary>
    public (string Language, double Probability) DetectLanguage(Tensor encoded)
    {
        if (!Special.IsMultilingual) return ("en", 1.0);
        using var scope = torch.NewDisposeScope();
        using var cache = _model.CreateCache(encoded);
        var logits = _model.Decode(torch.tensor(new long[] { Special.StartOfTranscript }, [1, 1], device: encoded.device), cache);
        var languageLogits = logits[0, 0].narrow(0, Special.FirstLanguage, Special.LanguageCount).to(ScalarType.Float32).softmax(0);
        long best = languageLogits.argmax().item<long>();
        return (WhisperLanguages.Codes[(int)best], languageLogits[best].item<float>());
    }

    /// <summary>The prompt before sampling: previous text (if any), then start of transcript, language, task.</summary>
    public IReadOnlyList<int> InitialTokens(IReadOnlyList<int> previous, string language, WhisperDecodingOptions options)
    {
        var tokens = new List<int>();
        if (previous.Count > 0)
        {
            tokens.Add(Special.StartOfPrevious);
            int keep = Math.Min(previous.Count, _model.Config.MaxTargetPositions / 2 - 1);
            tokens.AddRange(previous.Skip(previous.Count - keep));
        }
        tokens.Add(Special.StartOfTranscript);
        if (Special.IsMultilingual)
        {
            tokens.Add(Special.Language(language) ?? throw new ArgumentException($"language '{language}' is not one of this model's {Special.LanguageCount}", nameof(language)));
            tokens.Add(options.Task == WhisperTask.Translate ? Special.Translate : Special.Transcribe);
        }
        if (options.WithoutTimestamps) tokens.Add(Special.NoTimestamps);
        return tokens;
    }

    /// <summary>Decodes one window at one temperature.</summary>
    public WhisperDecodingResult DecodeWindow(Tensor encoded, IReadOnlyList<int> previous, string language, WhisperDecodingOptions options, double temperature)
    {
        using var _ = torch.no_grad();
        var initial = InitialTokens(previous, language, options);
        int sotIndex = initial.Count - 1;
        while (initial[sotIndex] != Special.StartOfTranscript) sotIndex--;
        int capacity = _model.Config.MaxTargetPositions - initial.Count;
        int sampleLength = Math.Min(options.MaxSampledTokens ?? _model.Config.MaxTargetPositions / 2, capacity);
        if (sampleLength < 1) throw new ArgumentException($"the prompt of {initial.Count} tokens leaves no room in the text context of {_model.Config.MaxTargetPositions}");

        bool beam = temperature == 0 && options.BeamSize is > 1;
        int rows = beam ? options.BeamSize!.Value : temperature > 0 ? Math.Max(1, options.BestOf) : 1;
        using var scope = torch.NewDisposeScope();
        using var cache = _model.CreateCache(encoded, rows);
        var prompt = torch.tensor(initial.Select(t => (long)t).ToArray(), [1, initial.Count], device: encoded.device).expand(rows, -1);
        var first = _model.Decode(prompt, cache, sotIndex);
        double noSpeech = first[0, 0].to(ScalarType.Float32).softmax(0)[Special.NoSpeech].item<float>();
        var logits = first.narrow(1, first.shape[1] - 1, 1);

        var decoder = new StepDecoder(this, options, rows, temperature);
        var sequences = beam ? decoder.Beam(logits, cache, sampleLength) : decoder.SampleOrGreedy(logits, cache, sampleLength);
        var (tokens, sumLogProb) = sequences.MaxBy(s => s.SumLogProb / Math.Max(1, s.Tokens.Count));
        string text = _tokenizer.Decode(tokens);
        return new WhisperDecodingResult(tokens, text, language, sumLogProb / (tokens.Count + 1), noSpeech, temperature, CompressionRatio(text));
    }

    /// <summary>Decodes at rising temperatures until the result is neither repetitive nor improbable (or is silence).</summary>
    public WhisperDecodingResult DecodeWithFallback(Tensor encoded, IReadOnlyList<int> previous, string language, WhisperDecodingOptions options)
    {
        WhisperDecodingResult? result = null;
        foreach (double t in options.Temperatures)
        {
            result = DecodeWindow(encoded, previous, language, options, t);
            if (!NeedsFallback(result, options)) break;
        }
        return result ?? throw new ArgumentException("no temperatures to decode at", nameof(options));
    }

    public static bool NeedsFallback(WhisperDecodingResult r, WhisperDecodingOptions options)
    {
        bool silent = r.NoSpeechProb > options.NoSpeechThreshold && r.AverageLogProb < options.LogProbThreshold;
        if (silent) return false;
        return r.CompressionRatio > options.CompressionRatioThreshold || r.AverageLogProb < options.LogProbThreshold;
    }

    /// <summary>gzip-style ratio of text bytes to their zlib-compressed size; high for looping output.</summary>
    public static double CompressionRatio(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        if (bytes.Length == 0) return 0;
        using var buffer = new MemoryStream();
        using (var z = new ZLibStream(buffer, CompressionLevel.Optimal, leaveOpen: true)) z.Write(bytes);
        return bytes.Length / (double)buffer.Length;
    }

    /// <summary>Transcribes 16 kHz mono audio window by window (openai-whisper's transcribe loop).</summary>
    public IReadOnlyList<WhisperSegment> Transcribe(ReadOnlySpan<float> audio, WhisperDecodingOptions options, CancellationToken cancellationToken = default)
    {
        if (audio.Length == 0) throw new ArgumentException("audio is empty", nameof(audio));
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        int window = WindowFrames;
        var mel = _frontEnd.Compute(audio, window * WhisperAudio.HopLength);
        long contentFrames = mel.shape[1] - window;
        double secondsPerFrame = (double)WhisperAudio.HopLength / WhisperAudio.SampleRate;

        var previous = new List<int>();
        if (options.InitialPrompt is { Length: > 0 } prompt) previous.AddRange(_tokenizer.Encode(" " + prompt.Trim()));
        string? language = options.Language;
        var segments = new List<WhisperSegment>();
        long seek = 0;
        while (seek < contentFrames)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var step = torch.NewDisposeScope();
            long size = Math.Min(window, contentFrames - seek);
            var encoded = EncodeWindow(mel.narrow(1, seek, size), options.AudioContextRounding);
            language ??= DetectLanguage(encoded).Language;
            var result = DecodeWithFallback(encoded, previous, language, options);
            double offset = seek * secondsPerFrame;
            if (result.NoSpeechProb > options.NoSpeechThreshold && result.AverageLogProb < options.LogProbThreshold)
            {
                seek += size;
                continue;
            }
            var (found, advance) = SplitSegments(result, offset, size * secondsPerFrame);
            segments.AddRange(found);
            seek += advance >= 0 ? Math.Max(1, (long)Math.Round(advance / secondsPerFrame)) : size;
            if (options.ConditionOnPreviousText && result.Temperature <= 0.5) previous.AddRange(result.Tokens);
            else previous.Clear();
        }
        return segments;
    }

    /// <summary>
    /// Cuts a window's tokens into segments at consecutive timestamp pairs. Returns the segments and how
    /// far (seconds) the window was consumed, or −1 when all of it was.
    /// </summary>
    public (List<WhisperSegment> Segments, double Consumed) SplitSegments(WhisperDecodingResult r, double offset, double duration)
    {
        var tokens = r.Tokens;
        var segments = new List<WhisperSegment>();
        // A model may name a time past the audio it was given (a short last window); clamp to the window.
        WhisperSegment Make(double start, double end, IReadOnlyList<int> part) =>
            new(offset + Math.Min(start, duration), offset + Math.Min(end, duration), _tokenizer.Decode(part), part, r.AverageLogProb, r.NoSpeechProb, r.Temperature, r.CompressionRatio);

        bool singleEnding = tokens.Count >= 2 && !Special.IsTimestamp(tokens[^2]) && Special.IsTimestamp(tokens[^1]);
        var cuts = Enumerable.Range(1, Math.Max(0, tokens.Count - 1)).Where(i => Special.IsTimestamp(tokens[i - 1]) && Special.IsTimestamp(tokens[i])).ToList();
        if (cuts.Count > 0)
        {
            if (singleEnding) cuts.Add(tokens.Count);
            int last = 0;
            foreach (int cut in cuts)
            {
                var part = tokens.Skip(last).Take(cut - last).ToArray();
                segments.Add(Make(Special.TimestampOf(part[0]), Special.TimestampOf(part[^1]), part));
                last = cut;
            }
            double consumed = Special.TimestampOf(tokens[last - 1]);
            return (segments, singleEnding || consumed >= duration ? -1 : consumed);
        }
        double end = duration;
        var stamps = tokens.Where(Special.IsTimestamp).ToList();
        if (stamps.Count > 0 && stamps[^1] != Special.TimestampBegin) end = Special.TimestampOf(stamps[^1]);
        if (tokens.Count > 0) segments.Add(Make(0, end, tokens));
        return (segments, -1);
    }

    /// <summary>The per-step choice of tokens for one window: filters, then argmax, sampling or beams.</summary>
    private sealed class StepDecoder(WhisperTranscriber owner, WhisperDecodingOptions options, int rows, double temperature)
    {
        private readonly Random _random = new(options.Seed);
        private double[] _weights = [];
        private readonly int[] _suppress = [.. owner._nonSpeech, .. options.SuppressTokens,
            owner.Special.Transcribe, owner.Special.Translate, owner.Special.StartOfTranscript,
            owner.Special.StartOfPrevious, owner.Special.StartOfLm, owner.Special.NoSpeech];
        private readonly int? _maxInitial = options.MaxInitialTimestamp > 0 ? (int)Math.Round(options.MaxInitialTimestamp / WhisperSpecialTokens.TimestampSeconds) : null;
        private int Eot => owner.Special.EndOfText;

        public void Filter(Span<float> row, ReadOnlySpan<int> sampled)
        {
            if (options.SuppressBlank) WhisperLogitFilters.SuppressBlank(row, sampled.Length, owner._blank, Eot);
            WhisperLogitFilters.Suppress(row, _suppress);
            if (!options.WithoutTimestamps) WhisperLogitFilters.ApplyTimestampRules(row, sampled, owner.Special, _maxInitial);
        }

        /// <summary>The step's logits on the managed side, copied straight from native memory (data&lt;T&gt;() copies element by element).</summary>
        private static float[] Rows(Tensor logits)
        {
            using var flat = logits.to(ScalarType.Float32).cpu().contiguous();
            return System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(flat.bytes).ToArray();
        }

        /// <summary>Logits of the next step; the previous step's are released at once, not at the end of the window.</summary>
        private Tensor Advance(Tensor previous, IEnumerable<int> tokens, WhisperKvCache cache)
        {
            using var scope = torch.NewDisposeScope();
            var input = torch.tensor(tokens.Select(t => (long)t).ToArray(), [rows, 1], device: previous.device);
            var next = owner._model.Decode(input, cache).MoveToOuterDisposeScope();
            previous.Dispose();
            return next;
        }

        public List<(List<int> Tokens, double SumLogProb)> SampleOrGreedy(Tensor logits, WhisperKvCache cache, int maxTokens)
        {
            int vocab = (int)logits.shape[^1];
            var seqs = Enumerable.Range(0, rows).Select(_ => new List<int>()).ToArray();
            var sums = new double[rows];
            var done = new bool[rows];
            for (int step = 0; step < maxTokens; step++)
            {
                var all = Rows(logits);
                var chosen = new int[rows];
                for (int r = 0; r < rows; r++)
                {
                    if (done[r]) { chosen[r] = Eot; continue; }
                    var row = all.AsSpan(r * vocab, vocab);
                    Filter(row, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(seqs[r]));
                    int token = temperature > 0 ? Sample(row) : ArgMax(row);
                    sums[r] += row[token] - WhisperLogitFilters.LogSumExp(row);
                    chosen[r] = token;
                    if (token == Eot) done[r] = true; else seqs[r].Add(token);
                }
                if (done.All(d => d) || step == maxTokens - 1) break;
                logits = Advance(logits, chosen, cache);
            }
            return seqs.Select((s, r) => (s, sums[r])).ToList();
        }

        public List<(List<int> Tokens, double SumLogProb)> Beam(Tensor logits, WhisperKvCache cache, int maxTokens)
        {
            int vocab = (int)logits.shape[^1];
            int beams = rows;
            var seqs = Enumerable.Range(0, beams).Select(_ => new List<int>()).ToList();
            var sums = new double[beams];
            var finished = new List<(List<int> Tokens, double SumLogProb)>();
            for (int step = 0; step < maxTokens; step++)
            {
                var all = Rows(logits);
                var candidates = new List<(double Score, int Source, int Token)>();
                // At the first step every beam holds the same prompt: expand only one, or all beams would be copies.
                int sources = step == 0 ? 1 : beams;
                for (int b = 0; b < sources; b++)
                {
                    var row = all.AsSpan(b * vocab, vocab);
                    Filter(row, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(seqs[b]));
                    WhisperLogitFilters.LogSoftmax(row);
                    foreach (int t in TopK(row, beams + 1)) candidates.Add((sums[b] + row[t], b, t));
                }
                var nextSeqs = new List<List<int>>();
                var nextSums = new List<double>();
                var sourceRows = new List<int>();
                foreach (var c in candidates.OrderByDescending(c => c.Score))
                {
                    if (c.Token == Eot)
                    {
                        if (finished.Count < beams) finished.Add((new List<int>(seqs[c.Source]), c.Score));
                        continue;
                    }
                    nextSeqs.Add([.. seqs[c.Source], c.Token]);
                    nextSums.Add(c.Score);
                    sourceRows.Add(c.Source);
                    if (nextSeqs.Count == beams) break;
                }
                if (nextSeqs.Count == 0) break;
                // The rules may leave fewer live candidates than beams; dead copies keep the batch shape.
                while (nextSeqs.Count < beams)
                {
                    nextSeqs.Add([.. nextSeqs[0]]);
                    nextSums.Add(double.NegativeInfinity);
                    sourceRows.Add(sourceRows[0]);
                }
                seqs = nextSeqs;
                sums = [.. nextSums];
                if (finished.Count >= beams || step == maxTokens - 1) break;
                using (var index = torch.tensor(sourceRows.Select(s => (long)s).ToArray())) cache.Reorder(index);
                logits = Advance(logits, seqs.Select(s => s[^1]), cache);
            }
            if (finished.Count == 0) finished.AddRange(seqs.Select((s, i) => (s, sums[i])).Where(x => !double.IsNegativeInfinity(x.Item2)));
            return finished;
        }

        private static int ArgMax(ReadOnlySpan<float> row)
        {
            int best = 0;
            for (int i = 1; i < row.Length; i++) if (row[i] > row[best]) best = i;
            return best;
        }

        private static int[] TopK(ReadOnlySpan<float> row, int k)
        {
            var best = new List<int>(k + 1);
            for (int i = 0; i < row.Length; i++)
            {
                if (float.IsNegativeInfinity(row[i])) continue;
                if (best.Count == k && row[i] <= row[best[^1]]) continue;
                int at = best.Count;
                while (at > 0 && row[best[at - 1]] < row[i]) at--;
                best.Insert(at, i);
                if (best.Count > k) best.RemoveAt(k);
            }
            return [.. best];
        }

        private int Sample(ReadOnlySpan<float> row)
        {
            float max = float.NegativeInfinity;
            foreach (float v in row) if (v > max) max = v;
            double total = 0;
            if (_weights.Length != row.Length) _weights = new double[row.Length];
            var weights = _weights;
            for (int i = 0; i < row.Length; i++) total += weights[i] = Math.Exp((row[i] - max) / temperature);
            double u = _random.NextDouble() * total;
            for (int i = 0; i < row.Length; i++)
            {
                u -= weights[i];
                if (u <= 0 && weights[i] > 0) return i;
            }
            return ArgMax(row);
        }
    }
}
