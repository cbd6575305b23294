using System.Diagnostics;
using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Decoding;
using WavFusion.Speech.Streaming;

namespace WavFusion.Cli.Bench;

/// <summary>
/// Streaming real-time factor measured end to end: a <see cref="StreamingTranscriber"/> fed a simulated
/// stream of continuous speech, every step running the real front end, encoder and greedy decoding with
/// the logit rules. Random weights cannot say when to stop or what was said, so each step decodes as
/// many tokens as speech of the buffer's length has (<see cref="TokensPerSecond"/>) and the words handed
/// to LocalAgreement are the simulated speaker's (one every <see cref="WordSeconds"/>), so commits, prompts
/// and buffer cuts behave as with a real model.
/// </summary>
internal static class BenchStream
{
    /// <summary>Text tokens per second of English speech (about 2.5 words/s), plus timestamps and end below.</summary>
    internal const double TokensPerSecond = 3.3;
    internal const int TokensPerHypothesis = 4;
    internal const double WordSeconds = 0.4;

    public sealed record Result(double ComputeSeconds, double AudioSeconds, int Steps, double MeanBufferSeconds, double MaxStepSeconds, double TokensPerStep)
    {
        public override string ToString() =>
            $"real-time factor {ComputeSeconds / AudioSeconds:F2} ({ComputeSeconds:F1} s compute / {AudioSeconds:F0} s audio, {Steps} steps, mean buffer {MeanBufferSeconds:F1} s, {TokensPerStep:F1} tokens/step, slowest step {MaxStepSeconds:F2} s)";
    }

    public static Result Run(WhisperForConditionalGeneration model, double streamSeconds, double stepSeconds, int audioContextRounding)
    {
        var tokenizer = WordTokenizer(model.Config.VocabSize);
        using var frontEnd = new LogMelSpectrogram(model.Config.NumMelBins);
        var transcriber = new WhisperTranscriber(model, tokenizer, frontEnd);
        return Run(new Source(transcriber, audioContextRounding), streamSeconds, stepSeconds);
    }

    /// <summary>
    /// The same stream through whisper.cpp: each step re-transcribes the buffer as the whispernet backend does (a processor
    /// with the committed text as prompt, the buffer's own audio context) with the same token budget as ours.
    /// </summary>
    public static Result RunWhisperCpp(WhisperCppRunner runner, double streamSeconds, double stepSeconds) =>
        Run(new WhisperCppSource(runner), streamSeconds, stepSeconds);

    private static Result Run(TimedSource source, double streamSeconds, double stepSeconds)
    {
        var streamer = new StreamingTranscriber(source, new StreamingOptions { MinChunkSeconds = stepSeconds });
        source.Streamer = streamer;
        var chunks = Speech(streamSeconds, stepSeconds);
        var clock = Stopwatch.StartNew();
        Drain(streamer, chunks).GetAwaiter().GetResult();
        double compute = clock.Elapsed.TotalSeconds;
        double audio = chunks.Sum(c => c.Samples.Length) / (double)WhisperAudio.SampleRate;
        int steps = Math.Max(1, source.Steps);
        return new Result(compute, audio, source.Steps, source.BufferSeconds / steps, source.MaxStep, source.Tokens / (double)steps);
    }

    /// <summary>Token budget of a step over <paramref name="seconds"/> of buffered speech.</summary>
    private static int Budget(double seconds) => TokensPerHypothesis + (int)Math.Ceiling(TokensPerSecond * seconds);

    /// <summary><see cref="Speech"/>'s signal as one array of <paramref name="seconds"/>.</summary>
    public static float[] SpeechSamples(double seconds) => Speech(seconds, seconds).SelectMany(c => c.Samples).ToArray();

    private static async Task Drain(StreamingTranscriber streamer, List<AudioChunk> chunks)
    {
        await foreach (var _ in streamer.TranscribeAsync(chunks.ToAsyncEnumerable()).ConfigureAwait(false)) { }
    }

    /// <summary>Speech-like audio: noise whose loudness follows syllables (about 4 per second), never below the voice gate.</summary>
    private static List<AudioChunk> Speech(double seconds, double chunkSeconds)
    {
        var random = new Random(7);
        int chunk = (int)Math.Round(chunkSeconds * WhisperAudio.SampleRate);
        int total = (int)Math.Round(seconds * WhisperAudio.SampleRate);
        var chunks = new List<AudioChunk>();
        for (int start = 0; start < total; start += chunk)
        {
            var samples = new float[Math.Min(chunk, total - start)];
            for (int i = 0; i < samples.Length; i++)
            {
                double t = (start + i) / (double)WhisperAudio.SampleRate;
                double envelope = 0.2 + 0.8 * Math.Abs(Math.Sin(Math.PI * 4 * t));
                samples[i] = (float)(0.1 * envelope * (random.NextDouble() * 2 - 1));
            }
            chunks.Add(new AudioChunk(samples, TimeSpan.FromSeconds(start / (double)WhisperAudio.SampleRate)));
        }
        return chunks;
    }

    /// <summary>
    /// A vocabulary whose words " aaa" … " zzz" are one token each (with every prefix, so byte-pair merging
    /// reaches them), so a prompt of committed words costs about as many tokens as real text.
    /// </summary>
    internal static WhisperTokenizer WordTokenizer(int vocabularySize) =>
        new(WordVocabulary(vocabularySize), WhisperSpecialTokens.ForVocabulary(vocabularySize));

    /// <summary>The byte strings of <see cref="WordTokenizer"/>'s ordinary tokens (what a ggml file stores).</summary>
    public static List<byte[]> WordVocabulary(int vocabularySize)
    {
        var special = WhisperSpecialTokens.ForVocabulary(vocabularySize);
        var tokens = Enumerable.Range(0, 256).Select(b => new[] { (byte)b }).ToList();
        for (int length = 1; length <= 3; length++)
            tokens.AddRange(Enumerable.Range(0, (int)Math.Pow(26, length)).Select(i => System.Text.Encoding.ASCII.GetBytes(" " + Letters(i, length))));
        // Four-letter words fill the rest: whisper.cpp drops a segment whose tokens all print as nothing, which a random
        // model repeating one empty token would give.
        for (int i = 0; tokens.Count < special.EndOfText; i++) tokens.Add(System.Text.Encoding.ASCII.GetBytes(" " + Letters(i, 4)));
        return tokens;
    }

    internal static string Letters(int index, int length)
    {
        var c = new char[length];
        for (int i = length - 1; i >= 0; i--, index /= 26) c[i] = (char)('a' + index % 26);
        return new string(c);
    }

    /// <summary>A hypothesis source that times its steps and answers with the simulated speaker's words.</summary>
    private abstract class TimedSource : IHypothesisSource
    {
        public StreamingTranscriber? Streamer { get; set; }
        public int Steps { get; private set; }
        public double BufferSeconds { get; private set; }
        public double MaxStep { get; private set; }
        public long Tokens { get; private set; }

        public Task<IReadOnlyList<TimedWord>> TranscribeAsync(float[] audio, string prompt, CancellationToken cancellationToken)
        {
            double seconds = audio.Length / (double)WhisperAudio.SampleRate;
            long start = Stopwatch.GetTimestamp();
            Tokens += Transcribe(audio, prompt, seconds, cancellationToken);
            MaxStep = Math.Max(MaxStep, Stopwatch.GetElapsedTime(start).TotalSeconds);
            Steps++;
            BufferSeconds += seconds;
            return Task.FromResult(Said(Streamer!.BufferStart, seconds));
        }

        /// <summary>The simulated speaker's words heard completely in the buffer, buffer-relative.</summary>
        protected static IReadOnlyList<TimedWord> Said(double bufferStart, double seconds)
        {
            var words = new List<TimedWord>();
            for (int k = (int)Math.Ceiling(bufferStart / WordSeconds); (k + 1) * WordSeconds <= bufferStart + seconds; k++)
                words.Add(new TimedWord(Letters(k % 17576, 3), k * WordSeconds - bufferStart, (k + 0.75) * WordSeconds - bufferStart));
            return words;
        }

        /// <summary>Transcribes the buffer with the step's token budget and returns the tokens decoded.</summary>
        protected abstract int Transcribe(float[] audio, string prompt, double seconds, CancellationToken cancellationToken);
    }

    private sealed class WhisperCppSource(WhisperCppRunner runner) : TimedSource
    {
        /// <summary>whisper.cpp returns nothing for less than 1 s of audio (as WhisperNetHypothesisSource pads).</summary>
        private const int MinSamples = WhisperAudio.SampleRate;

        protected override int Transcribe(float[] audio, string prompt, double seconds, CancellationToken cancellationToken)
        {
            if (audio.Length < MinSamples) Array.Resize(ref audio, MinSamples);
            // Mel frames rounded up to whole seconds, halved by the encoder's stride: the backend's audio_ctx.
            int frames = (audio.Length + WhisperAudio.HopLength - 1) / WhisperAudio.HopLength;
            int rounding = WhisperHypothesisSource.DefaultAudioContextRounding;
            int context = (frames + rounding - 1) / rounding * rounding / 2;
            return runner.Run(audio, Budget(seconds), context, prompt).Tokens;
        }
    }

    private sealed class Source(WhisperTranscriber transcriber, int audioContextRounding) : TimedSource
    {
        protected override int Transcribe(float[] audio, string prompt, double seconds, CancellationToken cancellationToken)
        {
            var options = new WhisperDecodingOptions
            {
                Language = "en",
                BeamSize = null,
                Temperatures = [0.0],
                ConditionOnPreviousText = false,
                AudioContextRounding = audioContextRounding,
                InitialPrompt = prompt,
                MaxSampledTokens = Budget(seconds),
            };
            using (TorchSharp.torch.no_grad()) return transcriber.Transcribe(audio, options, cancellationToken).Sum(s => s.Tokens.Count);
        }

    }
}
