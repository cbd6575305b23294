using System.Threading.Channels;

using WavFusion.Live.Pipeline;
using WavFusion.Live.Stages;
using WavFusion.Media;

using Xunit.Abstractions;

using static WavFusion.Tests.Live.Stages.Kit;

namespace WavFusion.Tests.Live.Stages;

public sealed class VoiceActivityStageTests(ITestOutputHelper output)
{
    private static async Task Feed(ChannelWriter<AudioChunk> writer, IEnumerable<AudioChunk> chunks)
    {
        foreach (var c in chunks) await writer.WriteAsync(c);
        writer.Complete();
    }

    [Fact]
    public async Task Every_output_gets_every_chunk_with_the_one_decision_and_boundaries_carry_the_detectors_times()
    {
        var detector = new ScriptedDetector([(1.0, 2.0), (4.0, 6.0)]);
        var input = Channel.CreateUnbounded<AudioChunk>();
        var windowsSide = Channel.CreateUnbounded<VoicedChunk>();
        var transcriberSide = Channel.CreateUnbounded<VoicedChunk>();
        var boundaries = Channel.CreateUnbounded<SpeechBoundary>();
        var stage = new VoiceActivityStage(detector, [windowsSide.Writer, transcriberSide.Writer], boundaries.Writer);

        await Feed(input.Writer, Chunks(8));
        await stage.RunAsync(input.Reader);

        var a = await Drain(windowsSide.Reader);
        var b = await Drain(transcriberSide.Reader);
        Assert.Equal(80, a.Count);
        Assert.Equal(a, b);
        Assert.Equal(80, detector.Calls);
        Assert.Equal(
            [new SpeechBoundary(true, Time(1)), new SpeechBoundary(false, Time(2)), new SpeechBoundary(true, Time(4)), new SpeechBoundary(false, Time(6))],
            await Drain(boundaries.Reader));
    }

    [Fact]
    public async Task A_stream_that_ends_in_speech_ends_its_utterance_with_its_last_sample()
    {
        var input = Channel.CreateUnbounded<AudioChunk>();
        var voiced = Channel.CreateUnbounded<VoicedChunk>();
        var boundaries = Channel.CreateUnbounded<SpeechBoundary>();
        await Feed(input.Writer, Chunks(3.05));
        await new VoiceActivityStage(new ScriptedDetector([(1.0, 9.0)]), [voiced.Writer], boundaries.Writer).RunAsync(input.Reader);
        Assert.Equal([new SpeechBoundary(true, Time(1)), new SpeechBoundary(false, Time(3.05))], await Drain(boundaries.Reader));
    }

    [Fact]
    public async Task With_the_energy_detector_a_tone_is_one_utterance_and_silence_gives_no_windows()
    {
        // Silence, 3 s of tone, silence: the stage and the assembler together, as the pipeline wires them.
        var chunks = Chunks(8, 0.05).Select(c => c.StreamTime >= Time(2) && c.StreamTime < Time(5)
            ? c with { Samples = c.Samples.Select((_, i) => 0.2f * MathF.Sin(0.07f * i)).ToArray() }
            : c with { Samples = new float[c.Samples.Length] }).ToList();
        var input = Channel.CreateUnbounded<AudioChunk>();
        var voiced = new ChannelPolicy { Capacity = 16, FullMode = FullMode.Wait }.Create<VoicedChunk>("voiced_audio");
        var windows = Channel.CreateUnbounded<EmotionWindow>();
        var stage = new VoiceActivityStage(new EnergyVoiceActivityDetector(), [voiced.Writer]);
        var assembler = new WindowAssembler(new WindowOptions(), new TranscriptTimeline(), new FaceTimeline());

        var assembling = assembler.RunAsync(voiced.Reader, windows.Writer);
        await Feed(input.Writer, chunks);
        await stage.RunAsync(input.Reader);
        await assembling;

        var all = await Drain(windows.Reader);
        output.WriteLine(string.Join(", ", all.Select(w => $"{w.Start.TotalSeconds:0.###}-{w.End.TotalSeconds:0.###}{(w.IsFinal ? " final" : "")}")));
        var final = Assert.Single(all, w => w.IsFinal);
        Assert.Equal((Time(2), Time(5)), (final.Start, final.End));
        Assert.Equal([3.0, 4.0, 5.0], all.Where(w => !w.IsFinal).Select(w => w.End.TotalSeconds));
        Assert.Equal(0, voiced.Dropped);

        var silent = Channel.CreateUnbounded<AudioChunk>();
        var quiet = Channel.CreateUnbounded<VoicedChunk>();
        var none = Channel.CreateUnbounded<EmotionWindow>();
        await Feed(silent.Writer, Chunks(20, 0.032).Select(c => c with { Samples = new float[c.Samples.Length] }));
        var quietAssembling = new WindowAssembler(new WindowOptions(), new TranscriptTimeline(), new FaceTimeline()).RunAsync(quiet.Reader, none.Writer);
        await new VoiceActivityStage(new EnergyVoiceActivityDetector(), [quiet.Writer]).RunAsync(silent.Reader);
        await quietAssembling;
        Assert.Empty(await Drain(none.Reader));
    }

    [Fact]
    public async Task A_slow_consumer_of_a_drop_oldest_channel_loses_chunks_counted_and_holds_back_neither_the_stage_nor_memory()
    {
        var policies = new ChannelPolicies();
        var windowsSide = policies.VoicedAudio.Create<VoicedChunk>("voiced_audio");             // wait
        var transcriberSide = new ChannelPolicy { Capacity = 16, FullMode = FullMode.DropOldest }.Create<VoicedChunk>("transcriber_audio");
        var input = Channel.CreateBounded<AudioChunk>(64);
        var stage = new VoiceActivityStage(new ScriptedDetector([(1, 100), (200, 300)]), [windowsSide.Writer, transcriberSide.Writer]);
        var running = stage.RunAsync(input.Reader);
        long read = 0;
        var reading = Task.Run(async () =>
        {
            await foreach (var _ in windowsSide.Reader.ReadAllAsync()) read++;
        });

        // The transcriber side is never read: 20 minutes of 32 ms chunks must pass through all the same.
        const int Count = 37_500;
        long before = 0;
        int n = 0;
        // Early chunks the transcriber side dropped must not be kept alive by anything: tracked weakly, so the check
        // holds whatever else the process allocates meanwhile (the heap figures are printed, not asserted: tests run in parallel).
        var early = new List<WeakReference>();
        foreach (var chunk in Chunks(1200, 0.032))
        {
            if (n is >= 100 and < 110) early.Add(new WeakReference(chunk.Samples));
            await input.Writer.WriteAsync(chunk);
            if (++n == 2_000) before = GC.GetTotalMemory(forceFullCollection: true);
        }
        long after = GC.GetTotalMemory(forceFullCollection: true);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        input.Writer.Complete();
        await running.WaitAsync(TimeSpan.FromSeconds(30));
        await reading;

        output.WriteLine($"{n} chunks; transcriber side dropped {transcriberSide.Dropped}; managed heap {before / 1e6:0.0} MB → {after / 1e6:0.0} MB");
        Assert.Equal(Count, n);
        Assert.Equal(Count, read);
        Assert.Equal(Count - 16, transcriberSide.Dropped);
        Assert.Equal(0, windowsSide.Dropped);
        Assert.All(early, w => Assert.False(w.IsAlive, "a chunk dropped long ago is still referenced"));
        Assert.InRange(transcriberSide.Reader.Count, 0, 16);
    }

    [Fact]
    public async Task Cancellation_stops_the_stage_while_it_waits_for_audio_or_for_room()
    {
        using var cts = new CancellationTokenSource();
        var idle = Channel.CreateUnbounded<AudioChunk>();
        var waitingForInput = new VoiceActivityStage(new EnergyVoiceActivityDetector(), [Channel.CreateUnbounded<VoicedChunk>().Writer]).RunAsync(idle.Reader, cts.Token);

        var busy = Channel.CreateUnbounded<AudioChunk>();
        foreach (var c in Chunks(5)) busy.Writer.TryWrite(c);
        var full = Channel.CreateBounded<VoicedChunk>(2);
        var boundaries = Channel.CreateUnbounded<SpeechBoundary>();
        var blockedOnOutput = new VoiceActivityStage(new EnergyVoiceActivityDetector(), [full.Writer], boundaries.Writer).RunAsync(busy.Reader, cts.Token);

        await Task.Delay(100);
        Assert.False(waitingForInput.IsCompleted);
        Assert.False(blockedOnOutput.IsCompleted);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waitingForInput.WaitAsync(TimeSpan.FromSeconds(2)));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => blockedOnOutput.WaitAsync(TimeSpan.FromSeconds(2)));
    }
}
