using WavFusion.Inference.Encoders;
using TorchSharp;
using WavFusion.Core.Audio;
using WavFusion.Models.Fusion;
using WavFusion.Tests.Fusion;
using WavFusion.Tests.Infrastructure;
using WavFusion.Tests.Parity;
using WavFusion.Tests.Trainer;
using WavFusion.Training.Classifiers;
using WavFusion.Training.Cache;
using WavFusion.Training.Data;
using WavFusion.Training.Features;
using WavFusion.Training.SynthEmo;
using WavFusion.Training.Trainer;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace WavFusion.Tests.Features;

[Collection(SeededTorchCollection.Name)]
public sealed class ItemFeaturizerTests(ITestOutputHelper output) : IDisposable
{
    private static readonly HashSet<Modality> AllModalities = [Modality.Audio, Modality.Text, Modality.Visual];
    private static readonly VideoSampling Sampling = new() { FramesPerSecond = 4, Size = TinyEncoderFolders.ImageSize, MaxFrames = 6 };

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private sealed class SyncProgress : IProgress<(int Done, int Total)>
    {
        public List<(int Done, int Total)> Reports { get; } = [];

        public void Report((int Done, int Total) value) => Reports.Add(value);
    }

    /// <summary>Counts how often the collator asks for the samples.</summary>
    private sealed class CountingItem(ITrainingItem inner) : ITrainingItem, IAudioKeyed
    {
        public int AudioReads { get; private set; }

        public string Id => inner.Id;

        public int Label => inner.Label;

        public float[] Audio
        {
            get
            {
                AudioReads++;
                return inner.Audio;
            }
        }

        public Tensor? Text => inner.Text;

        public Tensor? Visual => inner.Visual;

        public string AudioKey => ((IAudioKeyed)inner).AudioKey;
    }

    private List<EmotionItem> Corpus()
    {
        string dir = _dir.File("synthemo");
        SynthEmoGenerator.Generate(dir, new SynthEmoOptions { Items = 5, Seed = 3, FrameSize = 24, FramesPerItem = 4, Parallelism = 2 });
        return [.. SynthEmoManifest.Load(dir).Items];
    }

    [SkippableFact]
    public void Prepare_computes_every_modality_through_the_cache_and_skips_a_broken_item()
    {
        Skip.IfNot(Tools.Has("espeak-ng"), "espeak-ng is not on PATH (scripts/install-system-deps.sh installs it): SynthEmo cannot speak");
        var items = Corpus();
        var broken = items[0] with { Id = "broken-audio", Audio = new AudioSource(_dir.File("missing.wav")) };
        var input = items.Append(broken).ToList();
        using var text = FeatureEncoderLoader.LoadText(TinyEncoderFolders.Roberta(_dir.File("roberta")));
        using var visual = FeatureEncoderLoader.LoadVisual(TinyEncoderFolders.EfficientNet(_dir.File("effnet")));
        string cacheDir = _dir.File("cache");

        var report = new DatasetReport("synthemo", _dir.Path);
        var progress = new SyncProgress();
        var cold = new FeatureCache(cacheDir);
        var prepared = new ItemFeaturizer(text, visual, cold, Sampling).Prepare(input, AllModalities, report, progress);
        output.WriteLine(report.Summary());

        Assert.Equal(items.Select(i => i.Id), prepared.Select(p => p.Id));
        Assert.Equal(1, report.SkippedCount);
        Assert.Equal("broken-audio", report.Skipped[0].Name);
        Assert.Contains("missing.wav", report.Skipped[0].Reason, StringComparison.Ordinal);
        Assert.Equal(Enumerable.Range(1, input.Count).Select(n => (n, input.Count)), progress.Reports);
        Assert.Equal(new FeatureCacheStats(0, 2 * items.Count, 0), cold.Stats);

        for (int i = 0; i < items.Count; i++)
        {
            using var scope = torch.NewDisposeScope();
            var item = prepared[i];
            Assert.Equal(items[i].LabelIndex, item.Label);
            Assert.Equal(WavFile.Read(items[i].Audio.Path).Samples, item.Audio);
            var t = item.Text!;
            Close.Assert(text.Encode(items[i].Text), t, 1e-6, $"{item.Id} text features read back from the cache");
            int frames = VideoFrames.Read(items[i].Video!, Sampling).Count;
            Assert.InRange(frames, 1, Sampling.MaxFrames);
            Assert.Equal([frames, TinyEncoderFolders.VisualDim], item.Visual!.shape);
        }

        // A second run (new process, same folder) finds every entry without reading or computing any.
        var warm = new FeatureCache(cacheDir);
        var again = new ItemFeaturizer(text, visual, warm, Sampling).Prepare(items, AllModalities, new DatasetReport("synthemo", _dir.Path));
        Assert.Equal(new FeatureCacheStats(0, 0, 0), warm.Stats);
        using (torch.NewDisposeScope())
            Assert.True(again[1].Text!.Same(prepared[1].Text!) && again[1].Visual!.Same(prepared[1].Visual!), "features read back in the second run");
        Assert.Equal(new FeatureCacheStats(2, 0, 0), warm.Stats);
        Assert.Equal(((IAudioKeyed)prepared[0]).AudioKey, ((IAudioKeyed)again[0]).AudioKey);

        // Touching a file changes its item's keys: the audio and the video are looked up afresh.
        File.SetLastWriteTimeUtc(items[0].Audio.Path, DateTime.UtcNow.AddMinutes(5));
        var touched = new ItemFeaturizer(null, null, null).Prepare(items.Take(1).ToList(), new HashSet<Modality> { Modality.Audio }, report);
        Assert.NotEqual(((IAudioKeyed)prepared[0]).AudioKey, ((IAudioKeyed)touched[0]).AudioKey);
        Assert.Null(touched[0].Text);
        Assert.Null(touched[0].Visual);
    }

    [SkippableFact]
    public void With_a_warm_cache_the_collator_never_decodes_audio()
    {
        Skip.IfNot(Tools.Has("espeak-ng"), "espeak-ng is not on PATH (scripts/install-system-deps.sh installs it): SynthEmo cannot speak");
        var items = Corpus().Take(3).ToList();
        var prepared = new ItemFeaturizer(null, null, null).Prepare(items, new HashSet<Modality> { Modality.Audio }, new DatasetReport("synthemo", _dir.Path));
        var counting = prepared.Select(p => new CountingItem(p)).ToArray();
        torch.manual_seed(1);
        using var model = new WavFusionModel(SyntheticEmotionData.TinyConfig());
        var cache = new FeatureCache(_dir.File("cache"));
        var collator = new WavFusionBatchCollator(model, cache);

        using (torch.NewDisposeScope()) collator.Collate(counting);
        Assert.All(counting, c => Assert.Equal(1, c.AudioReads));
        using (torch.NewDisposeScope()) collator.Collate(counting);
        using (torch.NewDisposeScope()) new WavFusionBatchCollator(model, new FeatureCache(_dir.File("cache"))).Collate(counting);
        Assert.All(counting, c => Assert.Equal(1, c.AudioReads));
        Assert.Equal(new FeatureCacheStats(3, 3, 0), cache.Stats);
    }

    [Fact]
    public void Cut_audio_is_the_samples_between_start_and_end()
    {
        string wav = _dir.File("long.wav");
        var samples = Enumerable.Range(0, 32000).Select(i => i / 32000f).ToArray();
        WavFile.Write(wav, new AudioClip(samples, 16000));
        var cut = ItemFeaturizer.LoadAudio(new AudioSource(wav, 0.5, 1.25));
        Assert.Equal(12000, cut.Length);
        Assert.Equal(samples[8000], cut[0], 4);
        Assert.Contains(wav, Assert.Throws<InvalidDataException>(() => ItemFeaturizer.LoadAudio(new AudioSource(wav, 3.0, 4.0))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Asking_for_a_modality_without_its_encoder_is_an_error()
    {
        var featurizer = new ItemFeaturizer(null, null, null);
        var report = new DatasetReport("x", _dir.Path);
        Assert.Contains("text encoder", Assert.Throws<ArgumentException>(() => featurizer.Prepare([], new HashSet<Modality> { Modality.Text }, report)).Message, StringComparison.Ordinal);
        Assert.Contains("visual encoder", Assert.Throws<ArgumentException>(() => featurizer.Prepare([], new HashSet<Modality> { Modality.Visual }, report)).Message, StringComparison.Ordinal);
    }
}
