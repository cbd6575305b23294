using System.Globalization;
using System.Threading.Channels;
using Spectre.Console;
using Spectre.Console.Rendering;
using WavFusion.Api.V1;
using WavFusion.Live.Pipeline;

namespace WavFusion.Live.Sinks;

/// <summary>
/// The live console view (Spectre.Console): per-class bars of the latest result, whether it was interim or final,
/// the transcript and faces that informed it, speech state, latency p50/p95 and every channel's drops.
/// Redraws at most ten times a second; on a console that is not a terminal it prints one unwrapped line per final result.
/// </summary>
public sealed class ConsoleReadout(IAnsiConsole console, LiveStats stats) : IEventSink
{
    private static readonly Color[] Palette = [Color.Grey, Color.Yellow, Color.Red, Color.Blue, Color.Green, Color.Orange1, Color.Purple];
    private EmotionResult? _latest;
    private bool _speaking;

    public async Task RunAsync(ChannelReader<StreamingRecognizeResponse> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (!console.Profile.Capabilities.Interactive || !console.Profile.Capabilities.Ansi)
        {
            await foreach (var e in events.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                if (e.Result is { IsFinal: true } final) await console.Profile.Out.Writer.WriteLineAsync(Line(final)).ConfigureAwait(false);
            return;
        }
        await console.Live(View()).AutoClear(false).StartAsync(async context =>
        {
            long lastDraw = 0;
            await foreach (var e in events.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                if (e.Result is not null) _latest = e.Result;
                if (e.SpeechEvent is not null) _speaking = e.SpeechEvent.Type == SpeechEvent.Types.Type.SpeechBegin;
                if (Environment.TickCount64 - lastDraw < 100) continue;
                lastDraw = Environment.TickCount64;
                context.UpdateTarget(View());
            }
            context.UpdateTarget(View());
        }).ConfigureAwait(false);
    }

    /// <summary>One plain line for a result: span, top label, scores, modalities, transcript, latency.</summary>
    public static string Line(EmotionResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        string scores = string.Join(" ", r.Fused.Select(s => FormattableString.Invariant($"{s.Label} {s.Probability:0.00}")));
        string transcript = r.Transcript.Length > 0 ? $"  \"{r.Transcript}\"" : "";
        return FormattableString.Invariant(
            $"{r.StartOffsetMs / 1000.0,6:F1}-{r.EndOffsetMs / 1000.0,5:F1} s {(r.IsFinal ? "final  " : "interim")} {r.TopLabel,-9} {scores}  [{Modalities(r.ModalitiesPresent)}] ({r.LatencyMs} ms){transcript}");
    }

    private static string Modalities(WavFusion.Api.V1.Modalities m) =>
        string.Join("+", new[] { m.Audio ? "audio" : null, m.Text ? "text" : null, m.Visual ? "face" : null }.Where(x => x is not null));

    private IRenderable View()
    {
        var rows = new List<IRenderable>();
        if (_latest is null)
        {
            rows.Add(new Markup(_speaking ? "[yellow]listening: speech[/]" : "[grey]listening: waiting for speech[/]"));
        }
        else
        {
            var chart = new BarChart().Width(60).WithMaxValue(1.0)
                .Label(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                    $"{(_latest.IsFinal ? "final" : "interim")} {_latest.StartOffsetMs / 1000.0:F1}-{_latest.EndOffsetMs / 1000.0:F1} s: {_latest.TopLabel}")));
            for (int i = 0; i < _latest.Fused.Count; i++)
                chart.AddItem(_latest.Fused[i].Label, Math.Round(_latest.Fused[i].Probability, 2), Palette[i % Palette.Length]);
            rows.Add(chart);
            rows.Add(new Markup($"[bold]modalities[/] {Markup.Escape(Modalities(_latest.ModalitiesPresent))}   [bold]face[/] {(_latest.ModalitiesPresent.Visual ? "yes" : "no")}   [bold]speech[/] {(_speaking ? "on" : "off")}"));
            rows.Add(new Markup($"[bold]transcript[/] {Markup.Escape(_latest.Transcript.Length > 0 ? _latest.Transcript : "—")}"));
        }
        rows.Add(new Markup(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
            $"latency p50 {stats.LatencyPercentile(50):F0} ms, p95 {stats.LatencyPercentile(95):F0} ms; results {stats.Results} ({stats.FinalResults} final)"))));
        var drops = stats.Drops.Where(d => d.Value > 0).Select(d => $"{d.Key} {d.Value}").ToList();
        rows.Add(new Markup(Markup.Escape("drops: " + (drops.Count == 0 ? "none" : string.Join(", ", drops)))));
        return new Panel(new Rows(rows)).Header("WavFusion.Live").Border(BoxBorder.Rounded);
    }
}
