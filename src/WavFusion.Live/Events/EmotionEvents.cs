using WavFusion.Api.V1;
using WavFusion.Inference;
using WavFusion.Live.Stages;
using ApiModalities = WavFusion.Api.V1.Modalities;
using MediaModalities = WavFusion.Media.Modalities;

namespace WavFusion.Live.Events;

/// <summary>
/// The one event type from capture to every sink, server and client: the proto's
/// <see cref="StreamingRecognizeResponse"/>. These build it from what the pipeline knows.
/// </summary>
public static class EmotionEvents
{
    /// <summary>An emotion result for <paramref name="window"/>, filled as the proto says.</summary>
    /// <param name="perModality">Scores of the sub-paths present (audio alone, audio + text, audio + faces), if computed.</param>
    /// <param name="stability">For interim results: how likely the final result over this span is to agree (0..1).</param>
    public static StreamingRecognizeResponse Result(string sessionId, uint channel, EmotionWindow window, WindowScore fused,
        IReadOnlyList<WindowScore> perModality, string modelVersion, double stability, TimeSpan latency, TimeSpan processing)
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(fused);
        var result = new EmotionResult
        {
            IsFinal = window.IsFinal,
            Stability = window.IsFinal ? 1f : (float)stability,
            StartOffsetMs = (long)window.Start.TotalMilliseconds,
            EndOffsetMs = (long)window.End.TotalMilliseconds,
            Channel = channel,
            TopLabel = fused.TopLabel,
            Transcript = fused.Modalities.HasFlag(MediaModalities.Text) ? window.Transcript ?? "" : "",
            ModalitiesPresent = ToApi(fused.Modalities),
            ModelVersion = modelVersion,
            LatencyMs = (uint)Math.Clamp(Math.Round(latency.TotalMilliseconds), 0, uint.MaxValue),
            ProcessingMs = (uint)Math.Clamp(Math.Round(processing.TotalMilliseconds), 0, uint.MaxValue),
        };
        result.Fused.AddRange(Scores(fused));
        foreach (var path in perModality)
            result.PerModality.Add(new ModalityScores { Modalities = ToApi(path.Modalities), Scores = { Scores(path) } });
        return new StreamingRecognizeResponse { SessionId = sessionId, Result = result };
    }

    /// <summary>A speech begin or end event.</summary>
    public static StreamingRecognizeResponse Speech(string sessionId, uint channel, SpeechBoundary boundary)
    {
        ArgumentNullException.ThrowIfNull(boundary);
        return new StreamingRecognizeResponse
        {
            SessionId = sessionId,
            SpeechEvent = new SpeechEvent
            {
                Type = boundary.IsBegin ? SpeechEvent.Types.Type.SpeechBegin : SpeechEvent.Types.Type.SpeechEnd,
                OffsetMs = (long)boundary.StreamTime.TotalMilliseconds,
                Channel = channel,
            },
        };
    }

    public static ApiModalities ToApi(MediaModalities modalities) => new()
    {
        Audio = modalities.HasFlag(MediaModalities.Audio),
        Text = modalities.HasFlag(MediaModalities.Text),
        Visual = modalities.HasFlag(MediaModalities.Visual),
    };

    private static IEnumerable<EmotionScore> Scores(WindowScore score) =>
        score.Labels.Select((label, i) => new EmotionScore { Label = label, Probability = score.Probabilities[i] });
}
