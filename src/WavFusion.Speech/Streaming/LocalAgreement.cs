using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Decoding;

namespace WavFusion.Speech.Streaming;

/// <summary>
/// LocalAgreement-2 (whisper_streaming's HypothesisBuffer): a word is committed once two consecutive
/// hypotheses agree on it, as the longest common prefix of the new hypothesis and the previous one.
/// Words that start before the committed end, and a re-heard n-gram (n ≤ 5) of the committed tail,
/// are dropped on insertion so that re-transcribing overlapping audio does not repeat words.
/// </summary>
public sealed class LocalAgreement
{
    private const double OverlapSlack = 0.1;
    private const double TailWindow = 1.0;
    private const int MaxNgram = 5;

    private readonly List<TimedWord> _committed = [];
    private List<TimedWord> _previous = [];
    private List<TimedWord> _incoming = [];

    public IReadOnlyList<TimedWord> Committed => _committed;
    /// <summary>The words of the latest hypothesis not yet committed.</summary>
    public IReadOnlyList<TimedWord> Pending => _previous;
    /// <summary>End of the last committed word (stream seconds); 0 before any commit.</summary>
    public double CommittedEnd => _committed.Count > 0 ? _committed[^1].End : 0;

    /// <summary>Takes a new hypothesis (stream-time words) over the current buffer.</summary>
    public void Insert(IReadOnlyList<TimedWord> hypothesis)
    {
        double end = CommittedEnd;
        _incoming = hypothesis.Where(w => w.Start > end - OverlapSlack).ToList();
        if (_incoming.Count == 0 || _committed.Count == 0 || Math.Abs(_incoming[0].Start - end) >= TailWindow) return;
        for (int n = Math.Min(Math.Min(_committed.Count, _incoming.Count), MaxNgram); n >= 1; n--)
        {
            bool same = true;
            for (int i = 0; i < n && same; i++)
                same = Normalise(_committed[_committed.Count - n + i].Text) == Normalise(_incoming[i].Text);
            if (same)
            {
                _incoming.RemoveRange(0, n);
                return;
            }
        }
    }

    /// <summary>Commits the agreed prefix of the last two hypotheses and returns it.</summary>
    public IReadOnlyList<TimedWord> Flush()
    {
        var agreed = new List<TimedWord>();
        int i = 0;
        while (i < _incoming.Count && i < _previous.Count && Normalise(_incoming[i].Text) == Normalise(_previous[i].Text))
        {
            agreed.Add(_incoming[i]);
            i++;
        }
        _committed.AddRange(agreed);
        _previous = _incoming.Skip(i).ToList();
        _incoming = [];
        return agreed;
    }

    /// <summary>Commits whatever is pending (end of stream, or the buffer must be cut) and returns it.</summary>
    public IReadOnlyList<TimedWord> Complete()
    {
        var rest = _previous;
        _committed.AddRange(rest);
        _previous = [];
        _incoming = [];
        return rest;
    }

    /// <summary>Committed text for the decoder's prompt: the last <paramref name="maxChars"/> characters, on word boundaries.</summary>
    public string PromptText(int maxChars = 200)
    {
        var words = new List<string>();
        int length = 0;
        for (int i = _committed.Count - 1; i >= 0 && length + _committed[i].Text.Length + 1 <= maxChars; i--)
        {
            words.Insert(0, _committed[i].Text);
            length += _committed[i].Text.Length + 1;
        }
        return string.Join(' ', words);
    }

    private static string Normalise(string word) => word.Trim().ToLowerInvariant();
}
