using System.Text.Json;
using System.Text.Json.Serialization;
using WavFusion.Media;

namespace WavFusion.Live.Pipeline;

/// <summary>
/// Transcript segments a client already has (a call center's own ASR, the demo clip's sentences): a JSON array of
/// <c>{"start_ms", "end_ms", "text"}</c> in stream time. They join windows like Whisper's segments do.
/// </summary>
public static class ClientTranscript
{
    private sealed record Entry(
        [property: JsonPropertyName("start_ms")] long StartMs,
        [property: JsonPropertyName("end_ms")] long EndMs,
        [property: JsonPropertyName("text")] string Text);

    public static IReadOnlyList<TranscriptSegment> Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: transcript file not found", path);
        List<Entry>? entries;
        try
        {
            entries = JsonSerializer.Deserialize<List<Entry>>(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            // JsonException's own message names .NET types; the path and line are what a user can act on.
            throw new InvalidDataException(
                $"{path}: not a transcript (a JSON array of {{start_ms, end_ms, text}}): invalid at {e.Path ?? "$"}, line {(e.LineNumber ?? 0) + 1}", e);
        }
        var segments = new List<TranscriptSegment>();
        foreach (var (entry, i) in (entries ?? []).Select((e, i) => (e, i)))
        {
            if (entry is null || entry.Text is null || entry.StartMs < 0 || entry.EndMs <= entry.StartMs)
                throw new InvalidDataException($"{path}: segment {i} needs text and 0 <= start_ms < end_ms");
            segments.Add(new TranscriptSegment(entry.Text, TimeSpan.FromMilliseconds(entry.StartMs), TimeSpan.FromMilliseconds(entry.EndMs), true, 1.0));
        }
        return segments.OrderBy(s => s.Start).ToList();
    }
}
