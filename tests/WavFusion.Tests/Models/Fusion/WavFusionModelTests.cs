using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.Fusion;
using WavFusion.Models.Wav2Vec2;
using static TorchSharp.torch;
using WavFusion.Models.Layers;

namespace WavFusion.Tests.Fusion;

[Collection(SeededTorchCollection.Name)]
public sealed class WavFusionModelTests
{
    private const int B = 3, Samples = 800, Tt = 5, Tv = 4, TextDim = 12, VisualDim = 10;

    private static Wav2Vec2Config TinyAudio() => new()
    {
        HiddenSize = 16, NumHiddenLayers = 3, NumAttentionHeads = 2, IntermediateSize = 32,
        ConvDim = [8, 8], ConvKernel = [10, 3], ConvStride = [5, 2], NumConvPosEmbeddings = 8, NumConvPosEmbeddingGroups = 2,
        HiddenDropout = 0.1, AttentionDropout = 0.1, ActivationDropout = 0.1, LayerDrop = 0.5,
    };

    private static WavFusionConfig Tiny(FusionKind fusion = FusionKind.Gated, int deep = 2, double modalityDropout = 0.0) => new()
    {
        Wav2Vec2 = TinyAudio(), DeepLayers = deep, Fusion = fusion,
        TextDim = TextDim, TextGruHidden = 4, TextHeads = 2,
        VisualDim = VisualDim, VisualGruHidden = 3, VisualHeads = 2, LvcCodes = 3, LvcChannels = 8, LvcBottleneck = 4, LvcOutputDim = 4,
        MarginProjection = 6, ModalityDropout = modalityDropout, LabelNames = ["a", "b", "c"],
    };

    private static Tensor Lengths(int time, params long[] lengths) =>
        torch.arange(time).unsqueeze(0).lt(torch.tensor(lengths).unsqueeze(1));

    private sealed record Batch(Tensor Audio, Tensor SampleMask, ModalitySequence Text, ModalitySequence Visual, Tensor Labels);

    private static Batch MakeBatch(int seed)
    {
        torch.manual_seed(seed);
        var mask = Lengths(Samples, 800, 640, 500);
        return new Batch(
            torch.randn(B, Samples) * mask,
            mask,
            new ModalitySequence(torch.randn(B, Tt, TextDim), Lengths(Tt, 5, 3, 2)),
            new ModalitySequence(torch.randn(B, Tv, VisualDim), Lengths(Tv, 4, 4, 1)),
            torch.tensor(new long[] { 0, 1, 2 }));
    }

    private static WavFusionModel Build(WavFusionConfig config, int seed = 1)
    {
        torch.manual_seed(seed);
        return new WavFusionModel(config, modalityDropoutGenerator: new Generator(99));
    }

    [Fact]
    public void Every_modality_subset_gives_finite_probabilities_in_both_fusion_variants()
    {
        using var _ = torch.NewDisposeScope();
        var batch = MakeBatch(2);
        foreach (var config in new[] { Tiny(), Tiny(FusionKind.Concat, deep: 0), Tiny(FusionKind.Concat, deep: 1) })
        {
            using var model = Build(config);
            foreach (var training in new[] { false, true })
            {
                model.train(training);
                foreach (var (text, visual) in new[] { (batch.Text, batch.Visual), (batch.Text, null), (null, batch.Visual), ((ModalitySequence?)null, (ModalitySequence?)null) })
                {
                    var output = model.call(WavFusionInput.FromAudio(batch.Audio, batch.SampleMask, text, visual));
                    var what = $"{config.Fusion}/{config.DeepLayers} training={training} text={text is not null} visual={visual is not null}";
                    Assert.Equal(new long[] { B, 3 }, output.Logits.shape);
                    Assert.True(output.Probabilities.isfinite().all().item<bool>(), what);
                    Assert.True(output.Probabilities.sum(-1).allclose(torch.ones(B), atol: 1e-5), what);
                    var loss = model.Loss(output, batch.Labels);
                    Assert.True(loss.Total.isfinite().item<bool>(), what);
                }
            }
        }
    }

    [Fact]
    public void Gradients_reach_exactly_the_trainable_parameters()
    {
        using var _ = torch.NewDisposeScope();
        var batch = MakeBatch(3);
        using var model = Build(Tiny());
        model.train();
        // Sample 0 has both streams (gate), 1 text only, 2 neither (the deep layers' own self-attention).
        var text = batch.Text.Keep(torch.tensor(new[] { true, true, false }));
        var visual = batch.Visual.Keep(torch.tensor(new[] { true, false, false }));
        var output = model.call(WavFusionInput.FromAudio(batch.Audio, batch.SampleMask, text, visual));
        model.Loss(output, batch.Labels).Total.backward();

        var deep = new[] { "wav2vec2.encoder.layers.1.", "wav2vec2.encoder.layers.2." };
        foreach (var (name, p) in model.named_parameters())
        {
            var frozen = name.StartsWith("wav2vec2.", StringComparison.Ordinal) && !deep.Any(d => name.StartsWith(d, StringComparison.Ordinal));
            Assert.Equal(!frozen, p.requires_grad);
            if (frozen) Assert.True(p.grad is null, $"{name} is frozen but got a gradient");
            else Assert.True(p.grad is not null, $"{name} is trainable but got no gradient");
        }
        Assert.Equal(model.named_parameters().Count(p => p.parameter.grad is not null), model.TrainableParameters().Count());
        // The margin term is active in this batch, so its encoder really learns.
        Assert.True(model.get_parameter("margin.encoder.weight")!.grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void A_fixed_seed_gives_identical_outputs_including_training_mode_dropouts()
    {
        using var _ = torch.NewDisposeScope();
        var batch = MakeBatch(4);
        Tensor Run(bool training)
        {
            using var model = Build(Tiny(modalityDropout: 0.5), seed: 7);
            model.train(training);
            torch.manual_seed(5);
            return model.call(WavFusionInput.FromAudio(batch.Audio, batch.SampleMask, batch.Text, batch.Visual)).Logits.detach();
        }
        Assert.True(Run(false).eq(Run(false)).all().item<bool>());
        Assert.True(Run(true).eq(Run(true)).all().item<bool>());
        using var other = Build(Tiny(), seed: 8);
        other.eval();
        var different = other.call(WavFusionInput.FromAudio(batch.Audio, batch.SampleMask, batch.Text, batch.Visual)).Logits;
        Assert.False(different.allclose(Run(false)));
    }

    [Fact]
    public void Cached_shallow_audio_gives_the_same_output_as_raw_audio_and_stays_frozen_in_training()
    {
        using var _ = torch.NewDisposeScope();
        var batch = MakeBatch(5);
        using var model = Build(Tiny());
        model.train();
        var first = model.EncodeShallow(batch.Audio, batch.SampleMask);
        var second = model.EncodeShallow(batch.Audio, batch.SampleMask);
        // Dropout and LayerDrop (0.5 here) are off in the frozen part even in training mode.
        Assert.True(first.Hidden.eq(second.Hidden).all().item<bool>());
        Assert.False(first.Hidden.requires_grad);
        Assert.Equal(new long[] { B, TinyAudio().FrameCount(Samples) }, first.FrameMask!.shape);

        model.eval();
        var raw = model.call(WavFusionInput.FromAudio(batch.Audio, batch.SampleMask, batch.Text, batch.Visual));
        var cached = model.call(WavFusionInput.FromShallow(first, batch.Text, batch.Visual));
        Assert.True(raw.Logits.allclose(cached.Logits, atol: 1e-6));
        Assert.Throws<ArgumentException>(() => model.call(new WavFusionInput { Text = batch.Text }));
        Assert.Throws<ArgumentException>(() => model.call(WavFusionInput.FromShallow(new ShallowAudio(torch.randn(B, 4, 15), null))));
        Assert.Throws<ArgumentException>(() => model.call(WavFusionInput.FromAudio(batch.Audio, batch.SampleMask,
            new ModalitySequence(torch.randn(B, Tt, TextDim + 1)))));
    }

    [Fact]
    public void Without_auxiliary_streams_the_model_runs_the_pretrained_wav2vec2_unchanged()
    {
        using var _ = torch.NewDisposeScope();
        var batch = MakeBatch(6);
        torch.manual_seed(21);
        using var pretrained = new Wav2Vec2Model(TinyAudio());
        pretrained.eval();
        using var model = Build(Tiny());
        model.LoadPretrainedAudio(pretrained, "tiny-pretrained");
        model.eval();

        var expected = pretrained.forward(batch.Audio, batch.SampleMask);
        var output = model.call(WavFusionInput.FromAudio(batch.Audio, batch.SampleMask));
        var m = output.FrameMask.unsqueeze(-1);
        Assert.True((output.Hidden * m).allclose(expected.LastHiddenState * m, atol: 1e-5));

        var sd = model.state_dict();
        var source = pretrained.state_dict();
        foreach (var branch in new[] { "text_attention", "visual_attention" })
        {
            Assert.True(sd[$"cross_attention.2.{branch}.q_proj.weight"].eq(source["encoder.layers.2.attention.q_proj.weight"]).all().item<bool>());
            Assert.True(sd[$"cross_attention.1.{branch}.out_proj.bias"].eq(source["encoder.layers.1.attention.out_proj.bias"]).all().item<bool>());
        }
        using var wrong = new Wav2Vec2Model(new Wav2Vec2Config
        {
            HiddenSize = 16, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 32,
            ConvDim = [8, 8], ConvKernel = [10, 3], ConvStride = [5, 2], NumConvPosEmbeddings = 8, NumConvPosEmbeddingGroups = 2,
        });
        var error = Assert.Throws<CheckpointException>(() => model.LoadPretrainedAudio(wrong, "two-layer"));
        Assert.Contains("num_hidden_layers 2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Modality_dropout_only_acts_in_training_and_never_touches_audio()
    {
        using var _ = torch.NewDisposeScope();
        var batch = MakeBatch(7);
        using var model = Build(Tiny(modalityDropout: 1.0));
        model.eval();
        var kept = model.call(WavFusionInput.FromAudio(batch.Audio, batch.SampleMask, batch.Text, batch.Visual));
        Assert.True(kept.Utterances.TextPresent!.all().item<bool>());
        model.train();
        var dropped = model.call(WavFusionInput.FromAudio(batch.Audio, batch.SampleMask, batch.Text, batch.Visual));
        Assert.False(dropped.Utterances.TextPresent!.any().item<bool>());
        Assert.False(dropped.Utterances.VisualPresent!.any().item<bool>());
        Assert.True(dropped.FrameMask.eq(kept.FrameMask).all().item<bool>());
        Assert.True(dropped.Utterances.Audio.allclose(kept.Utterances.Audio, atol: 1e-6));
    }

    [Fact]
    public void Config_round_trips_through_json_and_resolves_a_wav2vec2_config_path()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"wavfusion-config-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(dir, "w2v"));
        try
        {
            var config = Tiny(FusionKind.Concat, deep: 1, modalityDropout: 0.25);
            var inline = Path.Combine(dir, "inline.json");
            File.WriteAllText(inline, config.ToJson());
            var loaded = WavFusionConfig.Load(inline);
            Assert.Equal(FusionKind.Concat, loaded.Fusion);
            Assert.Equal(16, loaded.Audio.HiddenSize);
            Assert.Equal(2, loaded.ShallowLayers);
            Assert.Equal(0.25, loaded.ModalityDropout);
            Assert.Equal(config.LabelNames, loaded.LabelNames);
            Assert.Contains("\"fusion\": \"concat\"", File.ReadAllText(inline), StringComparison.Ordinal);

            File.WriteAllText(Path.Combine(dir, "w2v", "config.json"),
                System.Text.Json.JsonSerializer.Serialize(TinyAudio()));
            var byPath = Path.Combine(dir, "by-path.json");
            File.WriteAllText(byPath, """{ "wav2vec2_config_path": "w2v", "deep_layers": 2, "label_names": ["x", "y"] }""");
            var resolved = WavFusionConfig.Load(byPath);
            Assert.Equal(3, resolved.Audio.NumHiddenLayers);
            Assert.Equal(1, resolved.ShallowLayers);

            var bad = Path.Combine(dir, "bad.json");
            File.WriteAllText(bad, """{ "wav2vec2_config_path": "w2v", "deep_layers": 4 }""");
            var error = Assert.Throws<ArgumentException>(() => WavFusionConfig.Load(bad));
            Assert.Contains("deep_layers", error.Message, StringComparison.Ordinal);
            Assert.Contains("bad.json", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Forward_and_loss_leave_no_live_tensors_once_outputs_are_disposed()
    {
        var batch = MakeBatch(8);
        using var model = Build(Tiny(modalityDropout: 0.3));
        model.train();
        using var shallow = model.EncodeShallow(batch.Audio, batch.SampleMask);
        void Step()
        {
            using var output = model.call(WavFusionInput.FromShallow(shallow, batch.Text, batch.Visual));
            using var loss = model.Loss(output, batch.Labels);
            loss.Total.backward();
        }
        Step();
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < 3; i++) Step();
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        // The cached mask the caller passed in survives the outputs' disposal.
        Assert.Equal(B, shallow.FrameMask!.shape[0]);
        Assert.True(shallow.FrameMask.any().item<bool>());
    }
}
