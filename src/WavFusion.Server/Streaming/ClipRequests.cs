using Google.Protobuf;
using WavFusion.Api.V1;

namespace WavFusion.Server.Streaming;

/// <summary>
/// A whole clip (Recognize) as the messages a stream would have sent: audio in one-second pieces, with the frames and
/// transcript text of each second between them, in stream-time order (text once it has been said), so the session
/// joins them exactly as it joins a live stream's.
/// </summary>
public static class ClipRequests
{
    public static async IAsyncEnumerable<StreamingRecognizeRequest> Of(RecognizeRequest request, StreamPlan plan)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(plan);
        var items = new List<(long TimeMs, int Order, StreamingRecognizeRequest Request)>();
        int pieceBytes = plan.BytesPerFrame * plan.SampleRate;
        var audio = request.Audio.Memory;
        for (int start = 0, i = 0; start < audio.Length; start += pieceBytes, i++)
        {
            var piece = audio.Slice(start, Math.Min(pieceBytes, audio.Length - start));
            // Whole frames are checked by the session; a ragged tail stays in the last piece so it is refused there.
            items.Add((i * 1000L, 1, new StreamingRecognizeRequest { Audio = new AudioChunk { Data = ByteString.CopyFrom(piece.Span) } }));
        }
        items.AddRange(request.Frames.Select(f => (f.OffsetMs, 0, new StreamingRecognizeRequest { Frame = f })));
        items.AddRange(request.Transcripts.Select(t => (t.EndOffsetMs, 2, new StreamingRecognizeRequest { Transcript = t })));
        foreach (var item in items.OrderBy(x => x.TimeMs).ThenBy(x => x.Order))
        {
            yield return item.Request;
            await Task.CompletedTask.ConfigureAwait(false);
        }
    }
}
