using System.Threading.Channels;

using WavFusion.Live.Pipeline;
using WavFusion.Live.Stages;
using WavFusion.Media;

using Xunit.Abstractions;

using static WavFusion.Tests.Live.Stages.Kit;

namespace WavFusion.Tests.Live.Stages;

public sealed class WindowAssemblerTests(ITestOutputHelper output)
{
    private static readonly WindowOptions Defaults = new();

    private static WindowAssembler Assembler(TimeProvider? clock = null, WindowOptions? options = null) =>
        new(options ?? Defaults, new TranscriptTimeline(), new FaceTimeline(), clock);

    private static string Span(EmotionWindow w) => $"{w.Start.TotalSeconds:0.###}-{w.End.TotalSeconds:0.###}{(w.IsFinal ? " final" : "")}";

    /// <summary>A window's audio is the stream's samples between its times (the test chunks hold their own sample indices).</summary>
    private static void AssertAudioMatchesTimes(EmotionWindow w)
    {
        long first = w.Start.Ticks / 625, last = w.End.Ticks / 625;
        Assert.Equal(last - first, w.Audio.Length);
        Assert.Equal(first, (long)w.Audio[0]);
        Assert.Equal(last - 1, (long)w.Audio[^1]);
    }

    [Fact]
    public async Task Interim_windows_end_on_hop_multiples_of_the_utterance_start_and_the_final_window_covers_the_utterance()
    {
        // Speech from 0.5 s to 7.3 s; the detector confirms it at 0.8 s and lets it go at 7.6 s.
        var chunks = Voiced(new ScriptedDetector([(0.5, 7.3)]), Chunks(10));
        var windows = await Assemble(Assembler(), chunks);
        output.WriteLine(string.Join(", ", windows.Select(Span)));

        var interim = windows.Where(w => !w.IsFinal).ToList();
        Assert.Equal([1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5], interim.Select(w => w.End.TotalSeconds));
        Assert.Equal([0.5, 0.5, 0.5, 0.5, 1.5, 2.5, 3.5], interim.Select(w => w.Start.TotalSeconds));
        // Once the utterance is a window long, every interim window has exactly the window's length.
        Assert.All(interim.Skip(3), w => Assert.Equal(4 * Rate, w.Audio.Length));
        var final = Assert.Single(windows, w => w.IsFinal);
        Assert.Equal((Time(0.5), Time(7.3)), (final.Start, final.End));
        Assert.Same(final, windows[^1]);
        Assert.All(windows, AssertAudioMatchesTimes);
    }

    [Fact]
    public async Task Every_utterance_ends_with_one_final_window_and_long_ones_are_split_at_the_maximum()
    {
        var assembler = Assembler();
        var chunks = Voiced(new ScriptedDetector([(1.0, 3.0), (5.0, 28.4), (31.0, 31.6)]), Chunks(40));
        var windows = await Assemble(assembler, chunks);
        output.WriteLine(string.Join(", ", windows.Where(w => w.IsFinal).Select(Span)));

        Assert.Equal(3, assembler.Utterances);
        Assert.Equal(
            [(1.0, 3.0), (5.0, 15.0), (15.0, 25.0), (25.0, 28.4), (31.0, 31.6)],
            windows.Where(w => w.IsFinal).Select(w => (w.Start.TotalSeconds, w.End.TotalSeconds)));
        // Interim windows keep the utterance's hop grid across the split parts; the 0.6 s utterance is too short for one.
        Assert.Equal(Enumerable.Range(1, 23).Select(k => 5.0 + k), windows.Where(w => !w.IsFinal && w.Start >= Time(5) && w.End <= Time(30)).Select(w => w.End.TotalSeconds));
        Assert.DoesNotContain(windows, w => !w.IsFinal && w.Start >= Time(31));
        Assert.All(windows, AssertAudioMatchesTimes);
        // Windows are emitted in the order their audio completes.
        Assert.True(windows.Zip(windows.Skip(1)).All(p => p.First.End <= p.Second.End));
    }

    [Fact]
    public async Task Silence_gives_no_windows()
    {
        var windows = await Assemble(Assembler(), Voiced(new ScriptedDetector([]), Chunks(30)));
        Assert.Empty(windows);
    }

    [Fact]
    public async Task Transcript_and_faces_land_in_exactly_the_windows_that_contain_their_stream_times()
    {
        var transcript = new TranscriptTimeline();
        var faces = new FaceTimeline();
        // Added out of stream order, before the audio: only stream time places them.
        double[] faceTimes = [6.2, 1.2, 9.9, 3.4, 0.2, 12.5, 2.7];
        foreach (double t in faceTimes) faces.Add(new FaceObservation(Time(t), [(float)t]));
        transcript.Add(new TranscriptSegment("your country", Time(3.2), Time(3.8), true, 1));
        transcript.Add(new TranscriptSegment("ask not", Time(1.1), Time(1.6), true, 1));
        transcript.Add(new TranscriptSegment("after", Time(9.3), Time(9.8), true, 1));

        var assembler = new WindowAssembler(Defaults, transcript, faces);
        var windows = await Assemble(assembler, Voiced(new ScriptedDetector([(1.0, 6.5), (9.0, 10.5)]), Chunks(14)));
        output.WriteLine(string.Join("; ", windows.Select(w => $"{Span(w)}: '{w.Transcript}' faces {string.Join(",", w.Faces.Select(f => f.StreamTime.TotalSeconds))}")));

        Assert.NotEmpty(windows);
        foreach (var w in windows)
        {
            var expectedFaces = faceTimes.Where(t => Time(t) >= w.Start && Time(t) < w.End).Order().ToList();
            Assert.Equal(expectedFaces, w.Faces.Select(f => f.StreamTime.TotalSeconds));
            var expectedWords = new[] { (1.1, "ask not"), (3.2, "your country"), (9.3, "after") }
                .Where(s => Time(s.Item1) >= w.Start && Time(s.Item1) < w.End).Select(s => s.Item2).ToList();
            Assert.Equal(expectedWords.Count == 0 ? null : string.Join(' ', expectedWords), w.Transcript);
        }
        var first = windows.First(w => w.IsFinal);
        Assert.Equal("ask not your country", first.Transcript);
        Assert.Equal([1.2, 2.7, 3.4, 6.2], first.Faces.Select(f => f.StreamTime.TotalSeconds));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Reserved_windows_keep_their_faces_until_joined_however_far_the_assembler_runs_ahead(bool reserve)
    {
        // Recorded video is joined after the assembler has emitted a window (once the video is analysed past its
        // end): by then the assembler may have moved seconds on and pruned what it no longer needs itself.
        var faces = new FaceTimeline();
        for (double t = 0; t < 14; t += 0.5) faces.Add(new FaceObservation(Time(t), [1f]));
        var assembler = new WindowAssembler(Defaults, new TranscriptTimeline(), faces) { ReserveFaces = reserve };
        var windows = await Assemble(assembler, Voiced(new ScriptedDetector([(1.0, 3.0), (6.0, 8.0)]), Chunks(14)));
        var first = windows.First(w => w.IsFinal);
        int expected = Enumerable.Range(0, 28).Count(i => Time(i * 0.5) >= first.Start && Time(i * 0.5) < first.End);
        Assert.True(expected > 0);
        if (!reserve)
        {
            // Without reservations the first utterance's faces are gone by the time a late join would read them.
            Assert.Empty(faces.Between(first.Start, first.End));
            Assert.Equal(0, faces.Reserved);
            return;
        }
        Assert.Equal(windows.Count, faces.Reserved);
        foreach (var w in windows)
            Assert.Equal(Enumerable.Range(0, 28).Count(i => Time(i * 0.5) >= w.Start && Time(i * 0.5) < w.End), faces.Between(w.Start, w.End).Count);
        // Joined windows release theirs, and pruning reaches as far as the assembler asks again.
        foreach (var w in windows) faces.Release(w.Start);
        Assert.Equal(0, faces.Reserved);
        faces.PruneBefore(Time(13));
        Assert.Equal(2, faces.Count);
    }

    [Fact]
    public async Task A_window_is_stamped_with_the_arrival_of_the_chunk_that_holds_its_last_sample()
    {
        // Chunk k (0.1 s each) is read at k × 0.1 s on the fake clock.
        var clock = new SteppingClock(TimeSpan.FromMilliseconds(100));
        var windows = await Assemble(Assembler(clock), Voiced(new ScriptedDetector([(0.5, 3.25)]), Chunks(5)));

        var interim = windows.First(w => !w.IsFinal);
        Assert.Equal(Time(1.5), interim.End);
        Assert.Equal(Time(1.4).Ticks, interim.LastSampleTimestamp);     // chunk [1.4, 1.5)
        Assert.Equal(interim.LastSampleTimestamp, interim.ReadyTimestamp);
        var final = windows.Single(w => w.IsFinal);
        Assert.Equal(Time(3.25), final.End);
        Assert.Equal(Time(3.2).Ticks, final.LastSampleTimestamp);       // chunk [3.2, 3.3), though the end was decided at 3.6
        Assert.True(final.ReadyTimestamp > final.LastSampleTimestamp, $"ready {final.ReadyTimestamp} after the last sample {final.LastSampleTimestamp}");
        Assert.Equal(Time(3.5).Ticks, final.ReadyTimestamp);            // chunk [3.5, 3.6), the first the detector calls non-speech
    }

    [Fact]
    public async Task Audio_and_timelines_held_stay_bounded_over_a_long_stream()
    {
        var transcript = new TranscriptTimeline();
        var faces = new FaceTimeline();
        var assembler = new WindowAssembler(Defaults, transcript, faces);
        // Half an hour: 15 s utterances (split at 10 s) with 2 s pauses; faces at 5 fps and a transcript segment each second.
        var segments = Enumerable.Range(0, 106).Select(i => (i * 17.0, i * 17.0 + 15)).ToList();
        var detector = new ScriptedDetector(segments);
        var input = Channel.CreateBounded<VoicedChunk>(64);
        var windows = Channel.CreateBounded<EmotionWindow>(8);
        long emitted = 0, maxRetained = 0;
        var run = assembler.RunAsync(input.Reader, windows.Writer);
        var drain = Task.Run(async () =>
        {
            await foreach (var _ in windows.Reader.ReadAllAsync()) emitted++;
        });

        long before = 0;
        int chunkIndex = 0;
        foreach (var chunk in Chunks(1800))
        {
            if (chunkIndex % 2 == 0) faces.Add(new FaceObservation(chunk.StreamTime, new float[1280]));
            if (chunkIndex % 10 == 0) transcript.Add(new TranscriptSegment("word", chunk.StreamTime, chunk.StreamTime + TimeSpan.FromSeconds(0.5), true, 1));
            await input.Writer.WriteAsync(new VoicedChunk(chunk, detector.Detect(chunk)));
            maxRetained = Math.Max(maxRetained, assembler.RetainedSamples);
            if (++chunkIndex == 3000) before = GC.GetTotalMemory(forceFullCollection: true);
        }
        long after = GC.GetTotalMemory(forceFullCollection: true);
        input.Writer.Complete();
        await run;
        await drain;

        output.WriteLine($"windows {emitted}; audio held at most {maxRetained / (double)Rate:0.00} s, store {assembler.BufferCapacity} samples; faces held {faces.Count}; managed heap {before / 1e6:0.0} MB after 5 min, {after / 1e6:0.0} MB after 30 min");
        Assert.True(emitted > 1500);
        Assert.InRange(maxRetained, 0, 10.2 * Rate);
        // Faces of the audio held, and of the chunks still queued in the input channel (added with them, up to 6.4 s ahead).
        Assert.InRange(faces.Count, 0, 5 * (11 + 7));
        Assert.InRange(assembler.BufferCapacity, 0, 32 * Rate); // a power-of-two store around the 10 s bound
        // The process heap is printed, not asserted: other test classes allocate in parallel in this process.
    }

    [Fact]
    public async Task A_gap_in_stream_time_ends_the_utterance_at_the_gap()
    {
        var chunks = Voiced(new ScriptedDetector([(0.0, 10.0)], confirm: 0), Chunks(6).Where(c => c.StreamTime < Time(2.5) || c.StreamTime >= Time(3.5)));
        var windows = await Assemble(Assembler(), chunks);
        Assert.Equal([(0.0, 2.5), (3.5, 6.0)], windows.Where(w => w.IsFinal).Select(w => (w.Start.TotalSeconds, w.End.TotalSeconds)));
        Assert.All(windows, AssertAudioMatchesTimes);
    }

    [Fact]
    public async Task Cancellation_stops_the_assembler_while_it_waits_for_audio_or_for_room()
    {
        var input = Channel.CreateUnbounded<VoicedChunk>();
        var full = Channel.CreateBounded<EmotionWindow>(1);
        foreach (var c in Voiced(new ScriptedDetector([(0, 60)], confirm: 0), Chunks(10))) input.Writer.TryWrite(c);
        using var cts = new CancellationTokenSource();
        var blockedOnOutput = Assembler().RunAsync(input.Reader, full.Writer, cts.Token);

        var idle = Channel.CreateUnbounded<VoicedChunk>();
        var waitingForInput = Assembler().RunAsync(idle.Reader, Channel.CreateUnbounded<EmotionWindow>().Writer, cts.Token);

        await Task.Delay(100);
        Assert.False(blockedOnOutput.IsCompleted);
        Assert.False(waitingForInput.IsCompleted);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blockedOnOutput.WaitAsync(TimeSpan.FromSeconds(2)));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waitingForInput.WaitAsync(TimeSpan.FromSeconds(2)));
    }
}
