using WavFusion.Core.Audio;
using WavFusion.Tests.Infrastructure;
using WavFusion.Training.Data;
using WavFusion.Training.SynthEmo;
using Xunit.Abstractions;

namespace WavFusion.Tests.Datasets;

public sealed class SynthEmoTests(ITestOutputHelper output)
{
    private const string NoEspeak = "espeak-ng is not on PATH (scripts/install-system-deps.sh installs it): SynthEmo cannot speak";

    private static bool HaveEspeak => Tools.Has("espeak-ng");

    private static Dictionary<string, byte[]> Files(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(dir, f), File.ReadAllBytes);

    [SkippableFact]
    public void Same_seed_gives_byte_identical_corpus_in_any_parallelism_and_another_seed_differs()
    {
        Skip.IfNot(HaveEspeak, NoEspeak);
        using var tmp = new TempDir();
        string a = tmp.File("a"), b = tmp.File("b"), c = tmp.File("c");
        SynthEmoGenerator.Generate(a, new SynthEmoOptions { Items = 10, Seed = 7, Parallelism = 2 });
        SynthEmoGenerator.Generate(b, new SynthEmoOptions { Items = 10, Seed = 7, Parallelism = 1 });
        SynthEmoGenerator.Generate(c, new SynthEmoOptions { Items = 10, Seed = 8, Parallelism = 2 });

        var fa = Files(a);
        var fb = Files(b);
        Assert.Equal(22, fa.Count);
        Assert.Equal(fa.Keys.Order(), fb.Keys.Order());
        foreach (var (name, bytes) in fa) Assert.True(bytes.AsSpan().SequenceEqual(fb[name]), $"{name} differs between two runs with seed 7");

        var fc = Files(c);
        Assert.NotEqual(File.ReadAllText(Path.Combine(a, "manifest.jsonl")), File.ReadAllText(Path.Combine(c, "manifest.jsonl")));
        int differing = fa.Keys.Count(k => k.StartsWith("audio", StringComparison.Ordinal) && !fa[k].AsSpan().SequenceEqual(fc[k]));
        Assert.True(differing >= 8, $"only {differing} of 10 audio files differ between seeds 7 and 8");
    }

    [SkippableFact]
    public void Manifest_reads_back_with_disjoint_stratified_splits_and_balanced_labels()
    {
        Skip.IfNot(HaveEspeak, NoEspeak);
        using var tmp = new TempDir();
        var generated = SynthEmoGenerator.Generate(tmp.Path, new SynthEmoOptions { Items = 20, Seed = 1, FrameSize = 48, FramesPerItem = 4 });
        output.WriteLine(generated.Report.Summary());
        var corpus = SynthEmoManifest.Load(tmp.Path);
        Assert.Equal(generated.Items.Select(i => i.Id), corpus.Items.Select(i => i.Id));
        Assert.Equal(SynthEmoDesign.Classes.Select(c => c.Name), corpus.Labels.Names);
        Assert.Equal(20, corpus.Report.AcceptedCount);
        Assert.Equal(0, corpus.Report.SkippedCount);

        var p = corpus.Partitions[0];
        var train = p.Train.Select(i => i.Id).ToHashSet();
        var val = p.Validation.Select(i => i.Id).ToHashSet();
        var test = p.Test.Select(i => i.Id).ToHashSet();
        Assert.Empty(train.Intersect(val));
        Assert.Empty(train.Intersect(test));
        Assert.Empty(val.Intersect(test));
        Assert.Equal(20, train.Count + val.Count + test.Count);
        // Four items per class: one validation, one test, two train, for every class.
        foreach (string label in corpus.Labels.Names)
        {
            Assert.Equal(2, p.Train.Count(i => i.Label == label));
            Assert.Equal(1, p.Validation.Count(i => i.Label == label));
            Assert.Equal(1, p.Test.Count(i => i.Label == label));
        }

        var item = p.Train[0];
        Assert.Equal(corpus.Labels.IndexOf(item.Label), item.LabelIndex);
        Assert.False(string.IsNullOrWhiteSpace(item.Text));
        var audio = WavFile.Read(item.Audio.Path);
        Assert.Equal(16000, audio.SampleRate);
        Assert.InRange(audio.DurationSeconds, 0.5, 12);
        Assert.True(audio.Samples.Max(Math.Abs) > 0.05f, "the speech is silent");
        var video = item.Video!;
        Assert.Equal(VideoFormat.FrameStrip, video.Format);
        var frames = FrameStrip.Read(video.Path, video.FrameWidth!.Value);
        Assert.Equal(4, frames.Count);
        Assert.All(frames, f => Assert.Equal(48 * 48 * 3, f.Length));
        Assert.Equal(audio.DurationSeconds, video.EndSeconds!.Value, 0.01);
    }

    [SkippableFact]
    public void Masking_follows_the_design_fractions_per_class()
    {
        Skip.IfNot(HaveEspeak, NoEspeak);
        using var tmp = new TempDir();
        SynthEmoGenerator.Generate(tmp.Path, new SynthEmoOptions { Items = 40, Seed = 2, FrameSize = 16, FramesPerItem = 1 });
        var lines = File.ReadAllLines(Path.Combine(tmp.Path, SynthEmoManifest.ManifestFile))
            .Select(l => System.Text.Json.JsonSerializer.Deserialize<SynthEmoEntry>(l)!).ToList();
        foreach (var group in lines.GroupBy(e => e.Label))
        {
            Assert.Equal(8, group.Count());
            Assert.Equal(4, group.Count(e => e.Masking == "none"));
            Assert.Equal(2, group.Count(e => e.Masking == "plain_wording"));
            Assert.Equal(2, group.Count(e => e.Masking == "poker_face"));
        }
        // Unmasked emotional items use their class's wording; plain-wording items never say an emotional template.
        Assert.All(lines.Where(e => e.Label == "angry" && e.Masking == "plain_wording"), e => Assert.DoesNotContain("!", e.Text, StringComparison.Ordinal));
        Assert.All(lines.Where(e => e.Label == "angry" && e.Masking != "plain_wording"), e => Assert.Contains("!", e.Text, StringComparison.Ordinal));
    }

    [Fact]
    public void Each_modality_alone_is_ambiguous_and_all_three_decide_every_item()
    {
        // Cue triples each class can show (masking replaces at most one modality by its plain form), with probability.
        var classes = SynthEmoDesign.Classes;
        var cues = classes.Select(c => new Dictionary<(ProsodyGroup, FaceGroup, WordingGroup), double>
        {
            [(c.Prosody, c.Face, c.Wording)] = 0.5,
        }).ToList();
        for (int k = 0; k < classes.Count; k++)
        {
            var c = classes[k];
            void Add((ProsodyGroup, FaceGroup, WordingGroup) key, double pr) => cues[k][key] = cues[k].GetValueOrDefault(key) + pr;
            Add((c.Prosody, c.Face, WordingGroup.Plain), 0.25);
            Add((c.Prosody, FaceGroup.Plain, c.Wording), 0.25);
        }
        double Bayes(bool audio, bool face, bool text)
        {
            var cells = new Dictionary<string, double[]>();
            for (int k = 0; k < classes.Count; k++)
                foreach (var ((pr, fa, wo), p) in cues[k])
                {
                    string key = $"{(audio ? pr : null)}|{(face ? fa : null)}|{(text ? wo : null)}";
                    if (!cells.TryGetValue(key, out var row)) cells[key] = row = new double[classes.Count];
                    row[k] += p;
                }
            return cells.Values.Sum(row => row.Max()) / classes.Count;
        }
        Assert.Equal(0.60, Bayes(true, false, false), 6);
        Assert.Equal(0.50, Bayes(false, true, false), 6);
        Assert.Equal(0.65, Bayes(false, false, true), 6);
        Assert.Equal(0.90, Bayes(true, true, false), 6);
        Assert.Equal(0.90, Bayes(true, false, true), 6);
        Assert.Equal(0.85, Bayes(false, true, true), 6);
        Assert.Equal(1.00, Bayes(true, true, true), 6);
    }

    [SkippableFact]
    public void Manifest_reader_reports_broken_lines_and_missing_files()
    {
        Skip.IfNot(HaveEspeak, NoEspeak);
        using var tmp = new TempDir();
        SynthEmoGenerator.Generate(tmp.Path, new SynthEmoOptions { Items = 5, Seed = 4, FrameSize = 16, FramesPerItem = 2 });
        string manifest = Path.Combine(tmp.Path, SynthEmoManifest.ManifestFile);
        File.AppendAllText(manifest, "{not json\n");
        File.Delete(Path.Combine(tmp.Path, "audio", "synth_000001.wav"));
        File.Delete(Path.Combine(tmp.Path, "faces", "synth_000003.png"));
        var corpus = SynthEmoManifest.Load(manifest);
        output.WriteLine(corpus.Report.Summary());
        Assert.Equal(3, corpus.Report.AcceptedCount);
        Assert.Equal(3, corpus.Report.SkippedCount);
        Assert.Contains(corpus.Report.Skipped, p => p.Name == "manifest.jsonl:6");
        Assert.Contains(corpus.Report.Skipped, p => p.Name == "synth_000001" && p.Reason.Contains("file missing", StringComparison.Ordinal));
        Assert.Contains(corpus.Report.Skipped, p => p.Name == "synth_000003" && p.Reason.Contains("faces/synth_000003.png", StringComparison.Ordinal));
    }

    [SkippableFact]
    public void Synth_command_writes_a_corpus()
    {
        Skip.IfNot(HaveEspeak, NoEspeak);
        using var tmp = new TempDir();
        var r = ProcessRunner.Cli("synth", "--out", tmp.Path, "--items", "5", "--seed", "9", "--frames", "2", "--frame-size", "32");
        output.WriteLine(r.All);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("5 items accepted", r.StdOut, StringComparison.Ordinal);
        Assert.Equal(5, SynthEmoManifest.Load(tmp.Path).Report.AcceptedCount);
        Assert.Equal(9, SynthEmoManifest.ReadInfo(tmp.Path)!.Seed);
    }

    [SkippableFact]
    public void Png_reader_decodes_every_filter_type_ffmpeg_writes()
    {
        Skip.IfNot(MediaFixtures.HaveFfmpeg, MediaFixtures.NoFfmpeg);
        using var tmp = new TempDir();
        string png = tmp.File("t.png"), raw = tmp.File("t.rgb");
        foreach (var (args, path) in new[] { (new[] { "-pred", "mixed" }, png), (new[] { "-f", "rawvideo" }, raw) })
        {
            var r = ProcessRunner.Run("ffmpeg", ["-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=36x22:duration=0.1",
                "-frames:v", "1", "-pix_fmt", "rgb24", .. args, path]);
            Assert.True(r.ExitCode == 0, r.StdErr);
        }
        var (rgb, width, height) = PngImage.ReadRgb(png);
        Assert.Equal((36, 22), (width, height));
        Assert.Equal(File.ReadAllBytes(raw), rgb);

        var frames = new[] { rgb };
        Assert.Throws<ArgumentException>(() => FrameStrip.Write(tmp.File("bad.png"), frames, 22));
    }
}
