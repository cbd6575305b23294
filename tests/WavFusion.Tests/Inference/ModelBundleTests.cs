using System.Text.Json.Nodes;
using WavFusion.Core.Checkpoints;
using WavFusion.Inference;
using WavFusion.Media;
using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Inference;

/// <summary>The deployable model folder and the scorer the CLI, the live runtime and the server share, on the bundled demo model.</summary>
public sealed class ModelBundleTests
{
    private static string DemoModel => Path.Combine(RepoPaths.Root, "models", "wavfusion-demo");

    private static float[] Tone(int samples, double frequency, float amplitude, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, samples)
            .Select(i => (float)(amplitude * Math.Sin(2 * Math.PI * frequency * i / AudioChunk.SampleRate) + 0.01 * (random.NextDouble() - 0.5)))
            .ToArray();
    }

    private static FaceCrops Faces(int count, int seed)
    {
        var random = new Random(seed);
        return new FaceCrops(Enumerable.Range(0, count).Select(_ =>
        {
            var rgb = new byte[32 * 32 * 3];
            random.NextBytes(rgb);
            return rgb;
        }).ToList(), 32);
    }

    [Fact]
    public void The_demo_bundle_loads_with_its_encoders_labels_and_preprocessing()
    {
        using var bundle = ModelBundle.Load(DemoModel);
        Assert.Equal(["neutral", "happy", "angry", "sad", "calm"], bundle.Labels);
        Assert.True(bundle.IsDemoModel);
        Assert.NotNull(bundle.TextEncoder);
        Assert.NotNull(bundle.VisualEncoder);
        Assert.True(bundle.FeatureExtractor.DoNormalize);
        Assert.Equal(Modalities.Audio | Modalities.Text | Modalities.Visual, new WindowScorer(bundle).Usable);
    }

    [Fact]
    public void A_window_scores_the_same_alone_and_in_any_batch()
    {
        using var bundle = ModelBundle.Load(DemoModel);
        var windows = new List<ScoringWindow>
        {
            new(Tone(16000, 220, 0.3f, 1)),
            new(Tone(16000, 330, 0.2f, 2), "I am so happy today"),
            new(Tone(16000, 440, 0.1f, 3), null, Faces(3, 3)),
            new(Tone(12000, 550, 0.3f, 4), "no"),
            new(Tone(16000, 260, 0.3f, 5), "what a terrible long day this has been", Faces(5, 5)),
            new(Tone(16000, 200, 0.2f, 6), "fine"),
            new(Tone(16000, 300, 0.2f, 7), null, Faces(2, 7)),
        };
        var alone = windows.Select(w => new WindowScorer(bundle, maxBatch: 1).Score([w])[0]).ToList();
        foreach (int maxBatch in new[] { 2, 16 })
        {
            var batched = new WindowScorer(bundle, maxBatch).Score(windows);
            for (int i = 0; i < windows.Count; i++)
            {
                Assert.Equal(alone[i].Modalities, batched[i].Modalities);
                for (int c = 0; c < bundle.Labels.Count; c++)
                    Assert.True(Math.Abs(alone[i].Probabilities[c] - batched[i].Probabilities[c]) < 1e-5,
                        $"window {i}, class {c}, batch size {maxBatch}: {batched[i].Probabilities[c]} batched vs {alone[i].Probabilities[c]} alone");
            }
        }
        Assert.Equal(Modalities.Audio | Modalities.Text | Modalities.Visual, alone[4].Modalities);
        Assert.All(alone, s => Assert.Equal(1f, s.Probabilities.Sum(), 3));
    }

    [Fact]
    public void Paths_sharing_one_audio_array_score_as_if_each_had_its_own_and_each_result_is_reported_once()
    {
        using var bundle = ModelBundle.Load(DemoModel);
        var audio = Tone(16000, 250, 0.3f, 11);
        var longer = Tone(24000, 180, 0.2f, 12);
        // A window and its per-modality paths pass one array (as the scoring stage does); the scorer encodes it once.
        var shared = new List<ScoringWindow>
        {
            new(audio, "this is just fine", Faces(3, 13)),
            new(audio),
            new(audio, "this is just fine"),
            new(audio, null, Faces(3, 13)),
            new(longer, "and longer"),
            new(longer),
        };
        var separate = shared.Select(w => w with { Audio = (float[])w.Audio.Clone() }).ToList();
        var reported = new List<int>();
        var scorer = new WindowScorer(bundle);
        var together = scorer.Score(shared, (i, score) => reported.Add(i));
        var apart = separate.Select(w => scorer.Score([w])[0]).ToList();
        Assert.Equal(Enumerable.Range(0, shared.Count), reported.Order());
        // Groups are reported shortest audio first.
        Assert.True(reported.IndexOf(4) > reported.IndexOf(0) && reported.IndexOf(5) > reported.IndexOf(3), string.Join(",", reported));
        for (int i = 0; i < shared.Count; i++)
        {
            Assert.Equal(apart[i].Modalities, together[i].Modalities);
            for (int c = 0; c < bundle.Labels.Count; c++)
                Assert.True(Math.Abs(apart[i].Probabilities[c] - together[i].Probabilities[c]) < 1e-5,
                    $"path {i}, class {c}: {together[i].Probabilities[c]} sharing the audio vs {apart[i].Probabilities[c]} alone");
        }
        // The paths differ: the auxiliary modalities change the scores.
        Assert.NotEqual(together[0].Probabilities, together[1].Probabilities);
    }

    [Fact]
    public void The_recorded_feature_extractor_settings_decide_the_preprocessing()
    {
        using var dir = new TempDir();
        string copy = Path.Combine(dir.Path, "model");
        CopyFolder(DemoModel, copy);
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(copy, ModelCheckpoint.ManifestFile)))!.AsObject();
        manifest["feature_extractor"]!["do_normalize"] = false;
        File.WriteAllText(Path.Combine(copy, ModelCheckpoint.ManifestFile), manifest.ToJsonString());

        var window = new ScoringWindow(Tone(16000, 220, 0.02f, 1));
        using var normalizing = ModelBundle.Load(DemoModel);
        using var raw = ModelBundle.Load(copy);
        Assert.False(raw.FeatureExtractor.DoNormalize);
        var a = new WindowScorer(normalizing).Score([window])[0].Probabilities;
        var b = new WindowScorer(raw).Score([window])[0].Probabilities;
        Assert.True(a.Zip(b).Any(p => Math.Abs(p.First - p.Second) > 1e-4), "unnormalised audio scored like normalised audio");
    }

    [Fact]
    public void Bad_folders_and_windows_are_named_in_the_error()
    {
        using var dir = new TempDir();
        var missing = Assert.Throws<DirectoryNotFoundException>(() => ModelBundle.Load(Path.Combine(dir.Path, "nowhere")));
        Assert.Contains("nowhere: folder does not exist", missing.Message, StringComparison.Ordinal);
        var empty = Assert.Throws<CheckpointException>(() => ModelBundle.Load(dir.Path));
        Assert.Contains("no checkpoint.json", empty.Message, StringComparison.Ordinal);

        using var bundle = ModelBundle.Load(DemoModel);
        var shortWindow = Assert.Throws<ArgumentException>(() => new WindowScorer(bundle).Score([new ScoringWindow(new float[100])]));
        Assert.Contains($"at least {bundle.MinimumSamples}", shortWindow.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sliding_windows_cover_the_clip_and_stop_at_its_end()
    {
        Assert.Equal([(0, 4), (2, 4), (4, 4), (6, 4)], SlidingWindows.Over(10, 4, 2, 3).ToList());
        Assert.Equal([(0, 4), (2, 4), (4, 4), (6, 3)], SlidingWindows.Over(9, 4, 2, 3).ToList());
        Assert.Equal([(0, 4), (3, 4), (6, 3)], SlidingWindows.Over(9, 4, 3, 3).ToList());
        Assert.Empty(SlidingWindows.Over(2, 4, 1, 3));
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
