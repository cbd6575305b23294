using System.Diagnostics;
using System.Globalization;
using WavFusion.Training.Trainer;

namespace WavFusion.Cli.Commands;

/// <summary>
/// A progress bar with ETA on standard error: redrawn in place with a carriage return on a terminal, a line at
/// every tenth when standard error is redirected (so a log file gets a few lines, not thousands). A finished
/// bar clears itself on a terminal, leaving the line to whatever is printed next.
/// </summary>
internal sealed class ConsoleProgressBar
{
    private const int Width = 30;

    private readonly TextWriter _out = Console.Error;
    private readonly bool _interactive = !Console.IsErrorRedirected;
    private readonly Stopwatch _clock = new();
    private string _phase = "";
    private int _lastTenth = -1;
    private long _lastDrawMs = -1000;

    public IProgress<BatchProgress> Batches => new SynchronousProgress<BatchProgress>(p =>
        Report($"epoch {p.Epoch}/{p.Epochs} {(p.Phase == BatchPhase.Train ? "train" : "val")}", p.Done, p.Total));

    public IProgress<(int Done, int Total)> Items(string phase) => new SynchronousProgress<(int Done, int Total)>(p => Report(phase, p.Done, p.Total));

    public void Report(string phase, int done, int total)
    {
        if (phase != _phase)
        {
            _phase = phase;
            _lastTenth = -1;
            _lastDrawMs = -1000;
            _clock.Restart();
        }
        double fraction = total <= 0 ? 1 : Math.Clamp((double)done / total, 0, 1);
        bool finished = done >= total;
        string eta = done == 0 || finished ? "" : Format(TimeSpan.FromSeconds(_clock.Elapsed.TotalSeconds / done * (total - done)));
        string line = string.Create(CultureInfo.InvariantCulture,
            $"{phase} [{new string('#', (int)(fraction * Width)).PadRight(Width, '.')}] {done}/{total} {fraction:P0} {Format(_clock.Elapsed)}{(eta.Length > 0 ? " ETA " + eta : "")}");
        if (_interactive)
        {
            if (!finished && _clock.ElapsedMilliseconds - _lastDrawMs < 100) return;
            _lastDrawMs = _clock.ElapsedMilliseconds;
            int width = Math.Max(40, SafeWindowWidth() - 1);
            _out.Write('\r' + (line.Length > width ? line[..width] : line.PadRight(width)));
            if (finished) _out.Write('\r' + new string(' ', width) + '\r');
        }
        else
        {
            int tenth = (int)(fraction * 10);
            if (tenth == _lastTenth) return;
            _lastTenth = tenth;
            _out.WriteLine(line);
        }
        _out.Flush();
    }

    private static string Format(TimeSpan t) => t.ToString(t.TotalHours >= 1 ? @"h\:mm\:ss" : @"m\:ss", CultureInfo.InvariantCulture);

    private static int SafeWindowWidth()
    {
        try
        {
            return Console.WindowWidth > 0 ? Console.WindowWidth : 100;
        }
        catch (IOException)
        {
            return 100;
        }
    }
}
