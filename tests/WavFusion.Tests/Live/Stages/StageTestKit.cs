using System.Threading.Channels;

using WavFusion.Live.Stages;
using WavFusion.Media;

namespace WavFusion.Tests.Live.Stages;

/// <summary>A clock that reads <see cref="Step"/> later at each reading, as if each reading were the next chunk's arrival.</summary>
internal sealed class SteppingClock(TimeSpan step) : TimeProvider
{
    private long _ticks;

    public TimeSpan Step { get; } = step;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Add(ref _ticks, Step.Ticks) - Step.Ticks;
}

/// <summary>
/// A detector that knows the speech segments in advance and decides as a hysteresis detector would: speech is
/// confirmed <paramref name="confirm"/> after a segment begins and ended <paramref name="hold"/> after it ends, and a
/// decision that changes the state carries the segment's true begin or end as its Start.
/// </summary>
internal sealed class ScriptedDetector(IReadOnlyList<(double Begin, double End)> segments, double confirm = 0.3, double hold = 0.3)
    : IVoiceActivityDetector
{
    private bool _speech;
    private double _end;

    public int Calls { get; private set; }

    public SpeechActivity Detect(AudioChunk chunk)
    {
        Calls++;
        double at = chunk.End.TotalSeconds;
        var current = segments.Where(s => s.Begin + confirm <= at + 1e-9 && at < s.End + hold - 1e-9).ToList();
        bool speech = current.Count > 0;
        var start = chunk.StreamTime;
        if (speech && !_speech) start = Kit.Time(current.Min(s => s.Begin));
        if (speech) _end = current.Max(s => s.End);
        if (!speech && _speech) start = Kit.Time(_end);
        _speech = speech;
        return new SpeechActivity(start, chunk.End, speech, speech ? 0.9f : 0.1f);
    }

    public void Reset() => _speech = false;
}

internal static class Kit
{
    public const int Rate = AudioChunk.SampleRate;

    public static TimeSpan Time(double seconds) => TimeSpan.FromTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond));

    /// <summary>A chunk whose samples are their own stream sample indices, so any window's audio can be checked against its times.</summary>
    public static AudioChunk Chunk(long firstSample, int samples) =>
        new(Enumerable.Range(0, samples).Select(i => (float)(firstSample + i)).ToArray(), TimeSpan.FromTicks(firstSample * (TimeSpan.TicksPerSecond / Rate)));

    /// <summary>Chunks of <paramref name="chunkSeconds"/> from 0 to <paramref name="seconds"/>.</summary>
    public static IEnumerable<AudioChunk> Chunks(double seconds, double chunkSeconds = 0.1)
    {
        int size = (int)Math.Round(chunkSeconds * Rate);
        long total = (long)Math.Round(seconds * Rate);
        for (long at = 0; at < total; at += size) yield return Chunk(at, (int)Math.Min(size, total - at));
    }

    /// <summary>Each chunk with its scripted decision.</summary>
    public static List<VoicedChunk> Voiced(IVoiceActivityDetector detector, IEnumerable<AudioChunk> chunks) =>
        chunks.Select(c => new VoicedChunk(c, detector.Detect(c))).ToList();

    public static async Task<List<T>> Drain<T>(ChannelReader<T> reader)
    {
        var items = new List<T>();
        await foreach (var item in reader.ReadAllAsync()) items.Add(item);
        return items;
    }

    /// <summary>Runs an assembler over <paramref name="chunks"/> and returns every window it emits.</summary>
    public static async Task<List<EmotionWindow>> Assemble(WindowAssembler assembler, IEnumerable<VoicedChunk> chunks)
    {
        var input = Channel.CreateUnbounded<VoicedChunk>();
        foreach (var c in chunks) input.Writer.TryWrite(c);
        input.Writer.Complete();
        var output = Channel.CreateUnbounded<EmotionWindow>();
        await assembler.RunAsync(input.Reader, output.Writer);
        return await Drain(output.Reader);
    }
}
