using System.Globalization;
using System.Text;

namespace WavFusion.Tests.Datasets;

/// <summary>
/// A miniature IEMOCAP in the published layout: five sessions, two dialogues each (one improvisation led by
/// the female actor's markers, one script led by the male's), eight turns per dialogue with the codes of
/// <see cref="Codes"/>, alternating F and M speakers. Broken entries are added by the Break* methods.
/// </summary>
internal sealed class IemocapTree
{
    public static readonly string[] Codes = ["neu", "hap", "exc", "sad", "ang", "fru", "xxx", "sur"];

    public IemocapTree(string root)
    {
        Root = root;
        for (int s = 1; s <= 5; s++)
            foreach (string dialogue in Dialogues(s))
                for (int k = 0; k < Codes.Length; k++) AddTurn(s, dialogue, TurnId(dialogue, k), Codes[k], k);
    }

    public string Root { get; }

    public static string[] Dialogues(int session) => [$"Ses0{session}F_impro01", $"Ses0{session}M_script01_1"];

    /// <summary>Turn k speaks as F on even k, M on odd k, numbered per speaker as the corpus does.</summary>
    public static string TurnId(string dialogue, int k) => $"{dialogue}_{(k % 2 == 0 ? 'F' : 'M')}{k / 2:000}";

    public static (double Start, double End) Times(int k) => (1.5 + 3 * k, 3.25 + 3 * k);

    public string SessionDir(int s) => Path.Combine(Root, $"Session{s}");

    public string LabelFile(int s, string dialogue) => Path.Combine(SessionDir(s), "dialog", "EmoEvaluation", dialogue + ".txt");

    public string TranscriptFile(int s, string dialogue) => Path.Combine(SessionDir(s), "dialog", "transcriptions", dialogue + ".txt");

    public string Wav(int s, string dialogue, string id) => Path.Combine(SessionDir(s), "sentences", "wav", dialogue, id + ".wav");

    public string Avi(int s, string dialogue) => Path.Combine(SessionDir(s), "dialog", "avi", "DivX", dialogue + ".avi");

    public void AddTurn(int s, string dialogue, string id, string code, int k, bool transcript = true, bool wav = true)
    {
        var (start, end) = Times(k);
        string labelFile = LabelFile(s, dialogue);
        Directory.CreateDirectory(Path.GetDirectoryName(labelFile)!);
        if (!File.Exists(labelFile))
            File.WriteAllText(labelFile, "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n");
        var ci = CultureInfo.InvariantCulture;
        File.AppendAllText(labelFile, string.Create(ci,
            $"[{start:0.0000} - {end:0.0000}]\t{id}\t{code}\t[2.5000, 2.5000, 2.5000]\nC-E2:\tNeutral;\t()\nA-E3:\tval 3; act 2; dom  2;\t()\n\n"));
        if (transcript)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(TranscriptFile(s, dialogue))!);
            File.AppendAllText(TranscriptFile(s, dialogue), string.Create(ci, $"{id} [{start:000.0000}-{end:000.0000}]: Words of {id}, said as {code}.\n"), Encoding.UTF8);
        }
        if (wav) MediaFixtures.WriteWav(Wav(s, dialogue, id), seed: k);
    }

    public void AppendLabelLine(int s, string dialogue, string line) => File.AppendAllText(LabelFile(s, dialogue), line + "\n");
}
