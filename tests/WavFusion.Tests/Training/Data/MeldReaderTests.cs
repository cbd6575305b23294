using System.Text;
using WavFusion.Core.Audio;
using WavFusion.Tests.Infrastructure;
using WavFusion.Training.Data;
using Xunit.Abstractions;

namespace WavFusion.Tests.Datasets;

public sealed class MeldReaderTests(ITestOutputHelper output)
{
    private const string Header = "Sr No.,Utterance,Speaker,Emotion,Sentiment,Dialogue_ID,Utterance_ID,Season,Episode,StartTime,EndTime";

    /// <summary>Writes a split's CSV (bytes as given, so encodings can be broken on purpose) and its clips.</summary>
    private static void WriteSplit(string root, string csv, string folder, byte[] content, IEnumerable<string> clips, string? clipSource)
    {
        File.WriteAllBytes(Path.Combine(root, csv), content);
        Directory.CreateDirectory(Path.Combine(root, folder));
        foreach (string clip in clips)
        {
            string path = Path.Combine(root, folder, clip + ".mp4");
            if (clipSource is null) File.WriteAllText(path, "placeholder: ffmpeg is absent, the reader only checks the clip exists");
            else File.Copy(clipSource, path);
        }
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private string? RealClip(string root)
    {
        if (!MediaFixtures.HaveFfmpeg)
        {
            output.WriteLine($"clips are placeholders: {MediaFixtures.NoFfmpeg}");
            return null;
        }
        string path = Path.Combine(root, "source.mp4");
        MediaFixtures.MakeClip(path, seconds: 0.6);
        return path;
    }

    private string BuildTree(string root)
    {
        string? clip = RealClip(root);
        // Train: a quoted utterance with a comma, doubled quotes and a line break; MELD's U+0092 apostrophe;
        // a raw Windows-1252 byte; an unknown emotion; a missing clip; a malformed id; a short row.
        var train = new List<byte>();
        train.AddRange(Utf8(Header + "\r\n"));
        train.AddRange(Utf8("1,\"Oh, my God! He said \"\"no\"\"\nand left.\",Rachel,Surprise,positive,0,0,1,1,\"00:16:16,059\",\"00:16:21,731\"\r\n"));
        train.AddRange(Utf8("2,I\u0092m fine.,Ross,neutral,neutral,0,1,1,1,\"00:16:21,940\",\"00:16:23,442\"\r\n"));
        train.AddRange(Utf8("3,Caf"));
        train.Add(0xE9);
        train.AddRange(Utf8(" time\u0085,Monica,Joy,positive,0,2,1,1,\"00:16:24,000\",\"00:16:25,000\"\r\n"));
        train.AddRange(Utf8("4,What?,Joey,happiness,positive,1,0,1,1,\"00:01:00,000\",\"00:01:01,000\"\r\n"));
        train.AddRange(Utf8("5,Where is it?,Joey,anger,negative,1,1,1,1,\"00:01:02,000\",\"00:01:03,000\"\r\n"));
        train.AddRange(Utf8("6,Bad id,Joey,fear,negative,x1,2,1,1,\"00:01:04,000\",\"00:01:05,000\"\r\n"));
        train.AddRange(Utf8("7,Short row,Joey,fear\r\n"));
        WriteSplit(root, "train_sent_emo.csv", "train_splits", [.. train], ["dia0_utt0", "dia0_utt1", "dia0_utt2", "dia1_utt0", "dia1_utt2"], clip);

        string dev = Header + "\n" +
            "1,Hi.,Phoebe,sadness,negative,0,0,2,3,\"00:00:01,000\",\"00:00:02,000\"\n" +
            "2,Ew.,Phoebe,disgust,negative,0,1,2,3,\"00:00:03,000\",\"00:00:04,000\"\n" +
            "3,Wow.,Chandler,fear,negative,3,0,2,3,\"00:00:09,000\",\"00:00:05,000\"\n";
        WriteSplit(root, "dev_sent_emo.csv", "dev_splits_complete", Utf8(dev), ["dia0_utt0", "dia0_utt1", "dia3_utt0"], clip);

        string test = Header + "\n" +
            "1,Okay.,Rachel,joy,positive,0,0,4,1,\"00:00:01,000\",\"00:00:02,000\"\n" +
            "2,Okay.,Rachel,joy,positive,0,0,4,1,\"00:00:01,000\",\"00:00:02,000\"\n\n";
        WriteSplit(root, "test_sent_emo.csv", "output_repeated_splits_test", Utf8(test), ["dia0_utt0"], clip);
        return root;
    }

    [Fact]
    public void Reads_official_splits_repairs_text_and_reports_broken_rows()
    {
        using var tmp = new TempDir();
        var corpus = MeldReader.Load(BuildTree(tmp.Path));
        output.WriteLine(corpus.Report.Summary());
        var p = Assert.Single(corpus.Partitions);
        Assert.Equal(["neutral", "joy", "surprise", "anger", "sadness", "disgust", "fear"], corpus.Labels.Names);

        Assert.Equal(["train_dia0_utt0", "train_dia0_utt1", "train_dia0_utt2"], p.Train.Select(i => i.Id));
        Assert.Equal(["dev_dia0_utt0", "dev_dia0_utt1", "dev_dia3_utt0"], p.Validation.Select(i => i.Id));
        Assert.Equal(["test_dia0_utt0"], p.Test.Select(i => i.Id));
        Assert.All(p.Validation, i => Assert.Equal(DataSplit.Validation, i.Split));

        var first = p.Train[0];
        Assert.Equal("Oh, my God! He said \"no\"\nand left.", first.Text);
        Assert.Equal(("surprise", 2, "Rachel"), (first.Label, first.LabelIndex, first.Speaker));
        Assert.Equal(Path.Combine(tmp.Path, "train_splits", "dia0_utt0.mp4"), first.Audio.Path);
        Assert.Equal(first.Audio.Path, first.Video!.Path);
        Assert.Equal(FaceRegion.Full, first.Video.Region);
        Assert.Equal("I’m fine.", p.Train[1].Text);
        Assert.Equal("Café time…", p.Train[2].Text);

        var r = corpus.Report;
        Assert.Equal(7, r.AcceptedCount);
        Assert.Equal(5, r.SkippedCount);
        Assert.Contains(r.Skipped, x => x.Name == "train_dia1_utt0" && x.Reason.Contains("unknown emotion 'happiness'", StringComparison.Ordinal));
        Assert.Contains(r.Skipped, x => x.Name == "train_dia1_utt1" && x.Reason.Contains("clip missing", StringComparison.Ordinal));
        // The first record spans lines 2-3, so the malformed ones sit on lines 8 and 9.
        Assert.Contains(r.Skipped, x => x.Name == "train_sent_emo.csv:8" && x.Reason.Contains("'x1'", StringComparison.Ordinal));
        Assert.Contains(r.Skipped, x => x.Name == "train_sent_emo.csv:9" && x.Reason.Contains("4 fields", StringComparison.Ordinal));
        Assert.Contains(r.Skipped, x => x.Name == "test_dia0_utt0" && x.Reason.Contains("test_sent_emo.csv:3: utterance listed twice", StringComparison.Ordinal));
        var warning = Assert.Single(r.Warnings);
        Assert.Equal("dev_dia3_utt0", warning.Name);
    }

    [Fact]
    public void Clip_folders_are_configurable_and_a_missing_csv_costs_only_its_split()
    {
        using var tmp = new TempDir();
        BuildTree(tmp.Path);
        Directory.Move(Path.Combine(tmp.Path, "dev_splits_complete"), Path.Combine(tmp.Path, "dev"));
        File.Delete(Path.Combine(tmp.Path, "test_sent_emo.csv"));
        var corpus = MeldReader.Load(tmp.Path, new MeldOptions { Dev = new MeldSplitLayout("dev_sent_emo.csv", "dev") });
        var p = corpus.Partitions[0];
        Assert.Equal(3, p.Validation.Count);
        Assert.Equal(Path.Combine(tmp.Path, "dev", "dia0_utt0.mp4"), p.Validation[0].Audio.Path);
        Assert.Empty(p.Test);
        Assert.Contains(corpus.Report.Skipped, x => x.Name == "test_sent_emo.csv" && x.Reason.Contains("file missing", StringComparison.Ordinal));
    }

    [Fact]
    public void A_csv_without_the_needed_columns_throws_naming_file_and_column()
    {
        using var tmp = new TempDir();
        BuildTree(tmp.Path);
        File.WriteAllText(Path.Combine(tmp.Path, "dev_sent_emo.csv"), "Sr No.,Utterance,Speaker,Dialogue_ID,Utterance_ID\n1,Hi.,Ross,0,0\n");
        var e = Assert.Throws<InvalidDataException>(() => MeldReader.Load(tmp.Path));
        Assert.Contains("dev_sent_emo.csv", e.Message, StringComparison.Ordinal);
        Assert.Contains("Emotion", e.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Clip_audio_decodes_with_ffmpeg()
    {
        Skip.IfNot(MediaFixtures.HaveFfmpeg, MediaFixtures.NoFfmpeg);
        using var tmp = new TempDir();
        var item = MeldReader.Load(BuildTree(tmp.Path)).Partitions[0].Train[0];
        var clip = AudioFile.Load(item.Audio.Path, 16000);
        Assert.InRange(clip.DurationSeconds, 0.5, 0.7);
        Assert.True(clip.Samples.Max() > 0.1f, "the sine track decoded as silence");
    }
}
