using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Decoding;
using WavFusion.Speech.Streaming;

namespace WavFusion.Tests.Whisper;

public sealed class StreamingTranscriberTests
{
    private static List<TimedWord> Words(double start, params string[] words) =>
        words.Select((w, i) => new TimedWord(w, start + 0.5 * i, start + 0.5 * i + 0.4)).ToList();

    [Fact]
    public void Local_agreement_commits_the_common_prefix_of_consecutive_hypotheses()
    {
        var la = new LocalAgreement();
        la.Insert(Words(0, "ask", "not"));
        Assert.Empty(la.Flush());
        la.Insert(Words(0, "ask", "not", "what"));
        Assert.Equal(["ask", "not"], la.Flush().Select(w => w.Text));
        Assert.Equal(["what"], la.Pending.Select(w => w.Text));
        la.Insert(Words(0, "ask", "not", "what", "your"));
        Assert.Equal(["what"], la.Flush().Select(w => w.Text));
        Assert.Equal("ask not what", la.PromptText());
        Assert.Equal(["your"], la.Complete().Select(w => w.Text));
        Assert.Empty(la.Pending);
    }

    [Fact]
    public void Re_heard_committed_words_are_dropped_by_time_and_by_n_gram_overlap()
    {
        var la = new LocalAgreement();
        la.Insert(Words(0, "a", "b", "c"));
        la.Flush();
        la.Insert(Words(0, "a", "b", "c"));
        la.Flush();
        Assert.Equal(1.4, la.CommittedEnd, 6);
        // A cut buffer re-hears "b c" with slightly later timestamps: the bigram matches the committed tail.
        la.Insert([new TimedWord("B", 1.35, 1.5), new TimedWord("c", 1.5, 1.8), new TimedWord("d", 1.9, 2.2)]);
        la.Flush();
        la.Insert([new TimedWord("d", 1.9, 2.2), new TimedWord("e", 2.3, 2.5)]);
        Assert.Equal(["d"], la.Flush().Select(w => w.Text));
        Assert.Equal("a b c d", string.Join(' ', la.Committed.Select(w => w.Text)));
    }

    /// <summary>Returns scripted hypotheses (buffer-relative) in order and records each call.</summary>
    private sealed class ScriptedSource(params List<TimedWord>[] script) : IHypothesisSource
    {
        public List<(int Samples, string Prompt)> Calls { get; } = [];
        public Task<IReadOnlyList<TimedWord>> TranscribeAsync(float[] audio, string prompt, CancellationToken cancellationToken)
        {
            Calls.Add((audio.Length, prompt));
            return Task.FromResult<IReadOnlyList<TimedWord>>(script[Math.Min(Calls.Count - 1, script.Length - 1)]);
        }
    }

    private static AudioChunk Chunk(double at, double seconds = 1.0, float amplitude = 0.3f) =>
        new(Enumerable.Range(0, (int)(seconds * 16000)).Select(i => amplitude * MathF.Sin(i * 0.1f)).ToArray(), TimeSpan.FromSeconds(at));

    private static async Task<List<TranscriptSegment>> Run(StreamingTranscriber t, IEnumerable<AudioChunk> chunks)
    {
        var result = new List<TranscriptSegment>();
        await foreach (var s in t.TranscribeAsync(chunks.ToAsyncEnumerable())) result.Add(s);
        return result;
    }

    [Fact]
    public async Task Stream_yields_interim_then_final_segments_in_stream_time()
    {
        var source = new ScriptedSource(Words(0, "ask"), Words(0, "ask", "not"), Words(0, "ask", "not", "what"));
        var t = new StreamingTranscriber(source);
        var segments = await Run(t, [Chunk(5), Chunk(6), Chunk(7)]);
        Assert.Equal(3, source.Calls.Count);
        var finals = segments.Where(s => s.IsFinal).ToList();
        Assert.Equal("ask", finals[0].Text);
        Assert.Equal(TimeSpan.FromSeconds(5), finals[0].Start);
        Assert.Equal("ask not what", string.Join(' ', finals.Select(s => s.Text)));
        Assert.All(segments.Where(s => !s.IsFinal), s => Assert.True(s.Stability < 1));
        Assert.Equal("ask", source.Calls[2].Prompt);
        Assert.Equal(16000 * 3, source.Calls[2].Samples);
    }

    [Fact]
    public async Task Long_buffer_is_cut_after_committed_text()
    {
        var source = new ScriptedSource(Words(0, "one", "two"), Words(0, "one", "two", "three"));
        var t = new StreamingTranscriber(source, new StreamingOptions { TrimSeconds = 1.5 });
        foreach (var chunk in new[] { Chunk(0), Chunk(1) })
            await foreach (var _ in t.PushAsync(chunk)) { }
        // After the second step "one two" is committed (ends at 0.9 s) and the 2 s buffer exceeds 1.5 s: cut there.
        Assert.Equal(0.9, t.BufferStart, 3);
    }

    [Fact]
    public async Task Buffer_never_exceeds_the_bound_even_without_agreement()
    {
        int calls = 0;
        var source = new DelegateSource(() => Words(0, $"w{calls++}"));
        var t = new StreamingTranscriber(source, new StreamingOptions { MaxBufferSeconds = 4 });
        var segments = await Run(t, Enumerable.Range(0, 10).Select(i => Chunk(i)));
        Assert.True(t.BufferSeconds <= 4, $"buffer grew to {t.BufferSeconds} s");
        Assert.Contains(segments, s => s.IsFinal);
    }

    [Fact]
    public async Task Silence_costs_no_decoding_and_ends_the_utterance()
    {
        var source = new ScriptedSource(Words(0, "hello"), Words(0, "hello", "there"));
        var t = new StreamingTranscriber(source);
        var silent = await Run(t, [Chunk(0, amplitude: 0), Chunk(1, amplitude: 0)]);
        Assert.Empty(source.Calls);
        Assert.Empty(silent);

        var segments = await Run(t, [Chunk(2), Chunk(3, amplitude: 0)]);
        Assert.Equal(2, source.Calls.Count);
        Assert.Equal("hello there", string.Join(' ', segments.Where(s => s.IsFinal).Select(s => s.Text)));
        Assert.Equal(0, t.BufferSeconds);
    }

    [Fact]
    public async Task Speech_is_transcribed_with_the_pre_roll_before_it()
    {
        // A word that starts 0.2 s into the first buffer: with 0.5 s of pre-roll before the 1 s speech chunk at 3 s, it is at 2.7 s.
        var source = new ScriptedSource(Words(0.2, "ask"));
        var t = new StreamingTranscriber(source, new StreamingOptions { PreRollSeconds = 0.5 });
        var segments = await Run(t, [Chunk(0, amplitude: 0), Chunk(1, amplitude: 0), Chunk(2, amplitude: 0), Chunk(3)]);
        Assert.Equal(16000 * 3 / 2, source.Calls[0].Samples);
        Assert.Equal(TimeSpan.FromSeconds(2.7), segments.First(s => s.Text == "ask").Start);

        // Without pre-roll the buffer starts at the speech chunk.
        var bare = new ScriptedSource(Words(0.2, "ask"));
        var segmentsBare = await Run(new StreamingTranscriber(bare, new StreamingOptions { PreRollSeconds = 0 }), [Chunk(0, amplitude: 0), Chunk(1)]);
        Assert.Equal(16000, bare.Calls[0].Samples);
        Assert.Equal(TimeSpan.FromSeconds(1.2), segmentsBare.First(s => s.Text == "ask").Start);
    }

    private sealed class DelegateSource(Func<List<TimedWord>> next) : IHypothesisSource
    {
        public Task<IReadOnlyList<TimedWord>> TranscribeAsync(float[] audio, string prompt, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<TimedWord>>(next());
    }

    /// <summary>Scripted source that, during its first call, delivers more audio into the live channel.</summary>
    private sealed class ArrivingWhileBusySource(System.Threading.Channels.ChannelWriter<AudioChunk> writer, AudioChunk[] arriving) : IHypothesisSource
    {
        public List<int> Calls { get; } = [];
        public Task<IReadOnlyList<TimedWord>> TranscribeAsync(float[] audio, string prompt, CancellationToken cancellationToken)
        {
            Calls.Add(audio.Length);
            if (Calls.Count == 1)
            {
                foreach (var chunk in arriving) Assert.True(writer.TryWrite(chunk));
                writer.Complete();
            }
            return Task.FromResult<IReadOnlyList<TimedWord>>(Words(0, Enumerable.Repeat("w", Calls.Count).ToArray()));
        }
    }

    [Fact]
    public async Task Live_channel_gathers_audio_that_arrived_during_a_step_into_the_next_step()
    {
        var channel = System.Threading.Channels.Channel.CreateUnbounded<AudioChunk>();
        var source = new ArrivingWhileBusySource(channel.Writer, [Chunk(1), Chunk(2), Chunk(3)]);
        var t = new StreamingTranscriber(source);
        Assert.True(channel.Writer.TryWrite(Chunk(0)));
        var segments = new List<TranscriptSegment>();
        await foreach (var s in t.TranscribeAsync(channel.Reader)) segments.Add(s);
        // One step for the first second, then one step for the three seconds that came meanwhile (a fixed
        // 1 s step would have taken three more steps and fallen behind the stream).
        Assert.Equal([16000, 4 * 16000], source.Calls);
        Assert.Equal(2, t.Steps);
        Assert.Equal("w w", string.Join(' ', segments.Where(s => s.IsFinal).Select(s => s.Text)));
        Assert.Equal(TimeSpan.Zero, segments.First(s => s.IsFinal).Start);
    }

    [Fact]
    public async Task Live_channel_backlog_is_taken_in_steps_within_the_buffer_bound()
    {
        var channel = System.Threading.Channels.Channel.CreateUnbounded<AudioChunk>();
        for (int i = 0; i < 70; i++) Assert.True(channel.Writer.TryWrite(Chunk(i)));
        channel.Writer.Complete();
        var source = new ScriptedSource(Words(0, "a"));
        var options = new StreamingOptions();
        var t = new StreamingTranscriber(source, options);
        await foreach (var _ in t.TranscribeAsync(channel.Reader)) { }
        Assert.InRange(source.Calls.Count, 3, 10);
        Assert.All(source.Calls, c => Assert.True(c.Samples <= options.MaxBufferSeconds * 16000, $"a step of {c.Samples} samples passed the buffer bound"));
        Assert.True(source.Calls[0].Samples >= (options.MaxBufferSeconds - options.MinChunkSeconds) * 16000 - 1, "the first step took the backlog up to the bound");
    }
}
