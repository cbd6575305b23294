using WavFusion.Core.Audio;
using WavFusion.Tests.Infrastructure;
using WavFusion.Training.Data;
using Xunit.Abstractions;

namespace WavFusion.Tests.Datasets;

public sealed class IemocapReaderTests(ITestOutputHelper output)
{
    /// <summary>The tree plus one of each kind of breakage; returns the tree.</summary>
    private static IemocapTree BrokenTree(string root)
    {
        var tree = new IemocapTree(root);
        // A missing sentence WAV costs its (neutral) turn.
        File.Delete(tree.Wav(2, "Ses02F_impro01", "Ses02F_impro01_F000"));
        // A label line that does not parse names its file and line.
        tree.AppendLabelLine(2, "Ses02F_impro01", "[30.0000 - abc]\tSes02F_impro01_F050\tneu\t[2.5000, 2.5000, 2.5000]");
        // An unknown code, a turn without transcript and a truncated WAV, each as an extra turn.
        tree.AddTurn(3, "Ses03F_impro01", "Ses03F_impro01_F060", "zzz", 20);
        tree.AddTurn(3, "Ses03F_impro01", "Ses03F_impro01_F061", "ang", 21, transcript: false);
        tree.AddTurn(4, "Ses04M_script01_1", "Ses04M_script01_1_M062", "sad", 22);
        File.WriteAllBytes(tree.Wav(4, "Ses04M_script01_1", "Ses04M_script01_1_M062"), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        // macOS resource forks beside the label files are not dialogues.
        File.WriteAllBytes(Path.Combine(Path.GetDirectoryName(tree.LabelFile(1, "Ses01F_impro01"))!, "._Ses01F_impro01.txt"), [0, 5, 22, 7]);
        return tree;
    }

    [Fact]
    public void Six_class_protocol_tests_on_session_5_and_reports_every_broken_entry()
    {
        using var tmp = new TempDir();
        BrokenTree(tmp.Path);
        var corpus = IemocapReader.Load(tmp.Path, IemocapProtocol.SixClassSession5Test);
        output.WriteLine(corpus.Report.Summary());

        Assert.Equal(["happy", "sad", "neutral", "angry", "excited", "frustrated"], corpus.Labels.Names);
        var report = corpus.Report;
        // 5 sessions x 2 dialogues x 6 protocol codes, less the turn whose WAV is missing.
        Assert.Equal(59, report.AcceptedCount);
        Assert.Equal(9, report.AcceptedByLabel["neutral"]);
        Assert.Equal(10, report.AcceptedByLabel["frustrated"]);
        Assert.Equal(10, report.ExcludedByLabel["xxx"]);
        Assert.Equal(10, report.ExcludedByLabel["sur"]);
        Assert.Equal(5, report.SkippedCount);
        Assert.Contains(report.Skipped, p => p.Name == "Ses02F_impro01_F000" && p.Reason.Contains("file missing", StringComparison.Ordinal));
        string malformedAt = $"{Path.Combine("Session2", "dialog", "EmoEvaluation", "Ses02F_impro01.txt")}:{File.ReadAllLines(Path.Combine(tmp.Path, "Session2", "dialog", "EmoEvaluation", "Ses02F_impro01.txt")).Length}";
        Assert.Contains(report.Skipped, p => p.Name == malformedAt && p.Reason.Contains("malformed label line", StringComparison.Ordinal));
        Assert.Contains(report.Skipped, p => p.Name == "Ses03F_impro01_F060" && p.Reason.Contains("unknown emotion code 'zzz'", StringComparison.Ordinal));
        Assert.Contains(report.Skipped, p => p.Name == "Ses03F_impro01_F061" && p.Reason.Contains("no transcript", StringComparison.Ordinal));
        Assert.Contains(report.Skipped, p => p.Name == "Ses04M_script01_1_M062" && p.Reason.Contains("no audio", StringComparison.Ordinal));
        // No video in this tree: one warning per dialogue, not per turn.
        Assert.Equal(10, report.WarningCount);
        Assert.Contains("59 items accepted", report.Summary(), StringComparison.Ordinal);

        var part = Assert.Single(corpus.Partitions);
        Assert.All(part.Test, i => Assert.Equal(5, i.Session));
        Assert.All(part.Test, i => Assert.Equal(DataSplit.Test, i.Split));
        Assert.All(part.Train.Concat(part.Validation), i => Assert.InRange(i.Session!.Value, 1, 4));
        Assert.Equal(12, part.Test.Count);
        Assert.NotEmpty(part.Validation);
        Assert.All(part.Validation, i => Assert.Equal(DataSplit.Validation, i.Split));
        // Validation takes whole dialogues: none of its dialogues appears in train.
        static string Dialogue(EmotionItem i) => i.Id[..i.Id.LastIndexOf('_')];
        Assert.Empty(part.Validation.Select(Dialogue).Intersect(part.Train.Select(Dialogue)));
        Assert.Equal(59, part.All.Select(i => i.Id).Distinct().Count());

        var exc = part.All.Single(i => i.Id == "Ses01F_impro01_F001");
        Assert.Equal("excited", exc.Label);
        Assert.Equal(4, exc.LabelIndex);
        Assert.Equal("Words of Ses01F_impro01_F001, said as exc.", exc.Text);
        Assert.Equal("Ses01F", exc.Speaker);
        Assert.Equal(Path.Combine(tmp.Path, "Session1", "sentences", "wav", "Ses01F_impro01", "Ses01F_impro01_F001.wav"), exc.Audio.Path);
        Assert.Null(exc.Video);
        Assert.Equal(IemocapReader.CorpusName, exc.Corpus);
    }

    [Fact]
    public void Validation_hold_out_is_deterministic_and_follows_the_seed()
    {
        using var tmp = new TempDir();
        new IemocapTree(tmp.Path);
        var a = IemocapReader.Load(tmp.Path, IemocapProtocol.SixClassSession5Test).Partitions[0];
        var b = IemocapReader.Load(tmp.Path, IemocapProtocol.SixClassSession5Test).Partitions[0];
        Assert.Equal(a.Validation.Select(i => i.Id), b.Validation.Select(i => i.Id));
        Assert.Equal(a.Train.Select(i => i.Id), b.Train.Select(i => i.Id));

        var heldOut = Enumerable.Range(0, 8)
            .Select(seed => string.Join(",", IemocapReader.Load(tmp.Path, IemocapProtocol.SixClassSession5Test,
                new IemocapOptions { ValidationSeed = seed }).Partitions[0].Validation.Select(i => i.Id)))
            .Distinct().Count();
        Assert.True(heldOut > 1, "every validation seed held out the same dialogues");

        var none = IemocapReader.Load(tmp.Path, IemocapProtocol.SixClassSession5Test, new IemocapOptions { ValidationFraction = 0 }).Partitions[0];
        Assert.Empty(none.Validation);
        Assert.Equal(48, none.Train.Count);
    }

    [Fact]
    public void Four_class_protocol_merges_excited_into_happy_over_five_session_folds()
    {
        using var tmp = new TempDir();
        BrokenTree(tmp.Path);
        var corpus = IemocapReader.Load(tmp.Path, IemocapProtocol.FourClassLeaveOneSessionOut);
        output.WriteLine(corpus.Report.Summary());

        Assert.Equal(["happy", "sad", "neutral", "angry"], corpus.Labels.Names);
        Assert.Equal(49, corpus.Report.AcceptedCount);
        Assert.Equal(20, corpus.Report.AcceptedByLabel["happy"]);
        Assert.Equal(10, corpus.Report.ExcludedByLabel["fru"]);
        Assert.Equal(5, corpus.Partitions.Count);

        var testIds = new HashSet<string>();
        for (int fold = 0; fold < 5; fold++)
        {
            var p = corpus.Partitions[fold];
            Assert.All(p.Test, i => Assert.Equal(fold + 1, i.Session));
            Assert.All(p.Test, i => Assert.Equal(fold, i.Fold));
            Assert.DoesNotContain(p.Train.Concat(p.Validation), i => i.Session == fold + 1);
            Assert.Equal(49, p.All.Count());
            foreach (var i in p.Test) Assert.True(testIds.Add(i.Id), $"{i.Id} is tested in two folds");
        }
        Assert.Equal(49, testIds.Count);
        var merged = corpus.Items.Single(i => i.Id == "Ses02M_script01_1_F001");
        Assert.Equal(("happy", 0), (merged.Label, merged.LabelIndex));
    }

    [SkippableFact]
    public void Dialogue_video_is_cut_at_turn_times_on_the_speakers_side()
    {
        Skip.IfNot(MediaFixtures.HaveFfmpeg, MediaFixtures.NoFfmpeg);
        using var tmp = new TempDir();
        var tree = new IemocapTree(tmp.Path);
        MediaFixtures.MakeClip(tree.Avi(1, "Ses01F_impro01"), seconds: 2);
        MediaFixtures.MakeClip(tree.Avi(3, "Ses03M_script01_1"), seconds: 2);

        var items = IemocapReader.Load(tmp.Path, IemocapProtocol.SixClassSession5Test).Items;
        Assert.Equal(8, corpusWarnings(tmp.Path));
        var female = items.Single(i => i.Id == "Ses01F_impro01_F000");
        var (start, end) = IemocapTree.Times(0);
        Assert.Equal(new VideoSource(tree.Avi(1, "Ses01F_impro01"), start, end, FaceRegion.LeftHalf), female.Video);
        Assert.Equal(FaceRegion.RightHalf, items.Single(i => i.Id == "Ses01F_impro01_M000").Video!.Region);
        // In a male-led dialogue the man wears the markers, so he is on the marker wearer's side.
        Assert.Equal(FaceRegion.LeftHalf, items.Single(i => i.Id == "Ses03M_script01_1_M000").Video!.Region);
        Assert.Equal(FaceRegion.RightHalf, items.Single(i => i.Id == "Ses03M_script01_1_F000").Video!.Region);
        Assert.Null(items.Single(i => i.Id == "Ses02F_impro01_F000").Video);

        var flipped = IemocapReader.Load(tmp.Path, IemocapProtocol.SixClassSession5Test, new IemocapOptions { MarkerWearerSide = FaceRegion.RightHalf }).Items;
        Assert.Equal(FaceRegion.RightHalf, flipped.Single(i => i.Id == "Ses01F_impro01_F000").Video!.Region);

        // The video's sound track decodes at the turn's span.
        var clip = AudioFile.DecodeWithFfmpeg(female.Video!.Path, 16000, female.Video.StartSeconds, female.Video.DurationSeconds);
        Assert.InRange(clip.DurationSeconds, 0.4, 0.55);

        static int corpusWarnings(string root) => IemocapReader.Load(root, IemocapProtocol.SixClassSession5Test).Report.WarningCount;
    }

    [Fact]
    public void Missing_session_is_reported_and_missing_root_throws()
    {
        using var tmp = new TempDir();
        var tree = new IemocapTree(tmp.Path);
        Directory.Delete(tree.SessionDir(4), recursive: true);
        var corpus = IemocapReader.Load(tmp.Path, IemocapProtocol.FourClassLeaveOneSessionOut);
        Assert.Contains(corpus.Report.Skipped, p => p.Name == "Session4" && p.Reason.Contains("session is missing", StringComparison.Ordinal));
        Assert.Empty(corpus.Partitions[3].Test);
        Assert.Equal(40, corpus.Report.AcceptedCount);
        var e = Assert.Throws<DirectoryNotFoundException>(() => IemocapReader.Load(Path.Combine(tmp.Path, "nope"), IemocapProtocol.SixClassSession5Test));
        Assert.Contains("nope", e.Message, StringComparison.Ordinal);
    }
}
