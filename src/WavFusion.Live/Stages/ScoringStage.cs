using System.Threading.Channels;
using WavFusion.Api.V1;
using WavFusion.Inference;
using WavFusion.Live.Batching;
using WavFusion.Live.Events;
using WavFusion.Live.Pipeline;
using MediaModalities = WavFusion.Media.Modalities;

namespace WavFusion.Live.Stages;

/// <summary>
/// Windows → the shared inference batcher → emotion events; speech boundaries between them become speech events in
/// the same order, so the session's events are in stream order. Latency is measured from the window's last sample
/// arriving to its event being handed to the sinks. Interim results carry a stability: the share of the
/// utterance's last three interim results (this one included) that agree on the top label.
/// </summary>
public sealed class ScoringStage(InferenceBatcher batcher, string sessionId, uint channel, string modelVersion, bool perModality,
    TimeProvider time, LiveStats stats)
{
    private const int StabilityHistory = 3;

    /// <summary>Per-modality scores on interim windows as well as final ones (with per-modality scores on).</summary>
    public bool PerModalityInterim { get; init; }
    private readonly Queue<string> _recentTopLabels = new();

    public async Task RunAsync(ChannelReader<WindowStreamItem> windows, ChannelWriter<StreamingRecognizeResponse> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentNullException.ThrowIfNull(events);
        await foreach (var item in windows.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (item is SpeechBoundary boundary)
            {
                stats.SpeechEvent();
                await events.WriteAsync(EmotionEvents.Speech(sessionId, channel, boundary), cancellationToken).ConfigureAwait(false);
                continue;
            }
            var window = (EmotionWindow)item;
            var fused = new ScoringWindow(window.Audio, window.Transcript, null,
                window.Faces.Count == 0 ? null : window.Faces.Select(f => f.Features).ToList());
            var paths = new List<ScoringWindow> { fused };
            if (perModality && (window.IsFinal || PerModalityInterim)) paths.AddRange(SubPaths(fused));
            var scores = await batcher.ScoreAsync(paths, cancellationToken).ConfigureAwait(false);
            double stability = Stability(window, scores[0].TopLabel);
            long now = time.GetTimestamp();
            var latency = time.GetElapsedTime(window.LastSampleTimestamp, now);
            var processing = time.GetElapsedTime(window.ReadyTimestamp, now);
            var e = EmotionEvents.Result(sessionId, channel, window, scores[0], scores.Skip(1).ToList(), modelVersion, stability, latency, processing);
            stats.Result(window.IsFinal, latency);
            await events.WriteAsync(e, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The single-auxiliary paths of a window with more than audio: audio alone, audio + text, audio + faces.</summary>
    private IEnumerable<ScoringWindow> SubPaths(ScoringWindow fused)
    {
        var present = fused.Modalities & batcher.Scorer.Usable | (fused.FaceFeatures is { Count: > 0 } ? MediaModalities.Visual : 0);
        if (present == MediaModalities.Audio) yield break;
        yield return new ScoringWindow(fused.Audio);
        if (present == (MediaModalities.Audio | MediaModalities.Text | MediaModalities.Visual))
        {
            yield return fused with { FaceFeatures = null, Faces = null };
            yield return fused with { Transcript = null };
        }
    }

    private double Stability(EmotionWindow window, string topLabel)
    {
        if (window.IsFinal)
        {
            _recentTopLabels.Clear();
            return 1.0;
        }
        _recentTopLabels.Enqueue(topLabel);
        while (_recentTopLabels.Count > StabilityHistory) _recentTopLabels.Dequeue();
        return _recentTopLabels.Count(l => l == topLabel) / (double)_recentTopLabels.Count;
    }
}
