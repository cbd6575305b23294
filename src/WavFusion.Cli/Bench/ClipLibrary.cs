using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using WavFusion.Media;

namespace WavFusion.Cli.Bench;

/// <summary>
/// The benchmark's clip at the lengths it needs: the clip itself, or a copy looped and cut to a length by ffmpeg
/// (stream copy, so it takes a moment even for 10 minutes), with the clip's transcript repeated to match. The
/// live sources then read an ordinary file: nothing in the pipeline knows it is a loop.
/// </summary>
internal sealed class ClipLibrary
{
    private readonly string _work;
    private readonly Dictionary<long, string> _made = [];

    public ClipLibrary(string source, string work, IReadOnlyList<TranscriptSegment> transcript)
    {
        Source = source;
        _work = work;
        Transcript = transcript;
        Duration = Probe(source);
    }

    public string Source { get; }

    /// <summary>Seconds, as ffprobe reports the container's duration.</summary>
    public double Duration { get; }

    public IReadOnlyList<TranscriptSegment> Transcript { get; }

    /// <summary>The clip cut to <paramref name="seconds"/> (looped as often as needed); the clip itself at its own length.</summary>
    public string OfLength(double seconds)
    {
        if (Math.Abs(seconds - Duration) < 0.05) return Source;
        long key = (long)Math.Round(seconds * 1000);
        if (_made.TryGetValue(key, out var made)) return made;
        string path = Path.Combine(_work, string.Create(CultureInfo.InvariantCulture, $"clip-{key}ms{Path.GetExtension(Source)}"));
        int loops = Math.Max(0, (int)Math.Ceiling(seconds / Duration) - 1);
        Ffmpeg("ffmpeg", ["-nostdin", "-v", "error", "-y", "-stream_loop", loops.ToString(CultureInfo.InvariantCulture), "-i", Source,
            "-t", seconds.ToString("0.###", CultureInfo.InvariantCulture), "-c", "copy", path]);
        _made[key] = path;
        return path;
    }

    /// <summary>The transcript of <see cref="OfLength"/>: the clip's segments repeated once per loop, those ending within the length.</summary>
    public IReadOnlyList<TranscriptSegment> TranscriptFor(double seconds)
    {
        var segments = new List<TranscriptSegment>();
        if (Transcript.Count == 0) return segments;
        for (int loop = 0; loop * Duration < seconds; loop++)
        {
            var offset = TimeSpan.FromSeconds(loop * Duration);
            segments.AddRange(Transcript.Select(t => t with { Start = t.Start + offset, End = t.End + offset })
                .Where(t => t.End.TotalSeconds <= seconds));
        }
        return segments;
    }

    private static double Probe(string path)
    {
        string output = Ffmpeg("ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "default=noprint_wrappers=1:nokey=1", path]);
        return double.TryParse(output.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds > 0
            ? seconds
            : throw new InvalidDataException($"{path}: ffprobe reports no duration ('{output.Trim()}')");
    }

    private static string Ffmpeg(string tool, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException($"{tool} did not start");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"bench live needs {tool} on PATH (scripts/install-system-deps.sh installs ffmpeg): {e.Message}", e);
        }
        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            string stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new InvalidDataException($"{tool} failed on {args.Last()}: {stderr.Result.Trim()}");
            return stdout;
        }
    }
}
