using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Core.Quantization;
using WavFusion.Models.Layers;
using WavFusion.Models.Whisper;
using WavFusion.Tests.Infrastructure;
using WavFusion.Tests.Parity;
using WavFusion.Tests.Whisper;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace WavFusion.Tests.Whisper;

/// <summary>
/// Whole-model checks of the packed decoder on every Whisper reference fixture (discovered by model_type, sizes read
/// from the files, so held-out fixtures of other sizes run the same): greedy tokens as float32 decodes them, logits
/// within the README's bound, and ggml Q8_0 files against the F16 file of the same weights.
/// </summary>
public sealed class WhisperPackedWeightsTests(ITestOutputHelper output)
{
    /// <summary>The README's bounds on max |logit − float32 logit| relative to the float32 logits' RMS.</summary>
    private static double LogitBound(WeightFormat format) => format == WeightFormat.Int8 ? 0.15 : 0.01;

    /// <summary>Greedy token agreement the issue asks for.</summary>
    private const double MinAgreement = 0.99;

    /// <summary>Inputs per fixture: its own features and this many seeded random ones.</summary>
    private const int RandomInputs = 5;

    public static TheoryData<string, string> FixturesAndFormats()
    {
        var data = new TheoryData<string, string>();
        foreach (var fixture in ReferenceFixture.Discover().Where(f => f.Kind == "whisper"))
            foreach (var format in new[] { "int8", "f16" })
                data.Add(fixture.Name, format);
        return data;
    }

    private static ReferenceFixture Fixture(string name) => ReferenceFixture.Discover().Single(f => f.Name == name);

    private static (WhisperForConditionalGeneration Fp32, WhisperForConditionalGeneration Packed) Models(ReferenceFixture fixture, WeightFormat format)
    {
        var config = WhisperConfig.Load(fixture.File("config.json"));
        using var file = SafeTensorsFile.Open(fixture.File("model.safetensors"));
        var weights = file.ReadAll();
        var fp32 = new WhisperForConditionalGeneration(config);
        StateDictLoader.Load(fp32, weights, fixture.File("model.safetensors"));
        fp32.eval();
        var packed = new WhisperForConditionalGeneration(config, format);
        packed.LoadWeights(weights, fixture.File("model.safetensors"));
        packed.eval();
        return (fp32, packed);
    }

    [SkippableTheory]
    [MemberData(nameof(FixturesAndFormats))]
    public void Packed_decoder_gives_float32_greedy_tokens_and_logits_within_the_bound(string fixtureName, string formatName)
    {
        var fixture = Fixture(fixtureName);
        var format = WeightFormats.Parse(formatName);
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();
        var (fp32, packed) = Models(fixture, format);
        using (fp32)
        using (packed)
        {
            var io = Close.ReadIo(fixture);
            // The fixture's own tokens, whole and step by step (the kernels' path).
            var ids = io["decoder_input_ids"];
            var encoded = fp32.Encode(io["input_features"]);
            Tensor reference, whole, steps;
            using (var cache = fp32.CreateCache(encoded)) reference = fp32.Decode(ids, cache);
            using (var cache = packed.CreateCache(packed.Encode(io["input_features"]))) whole = packed.Decode(ids, cache);
            using (var cache = packed.CreateCache(packed.Encode(io["input_features"])))
                steps = torch.cat(Enumerable.Range(0, (int)ids.shape[1]).Select(i => packed.Decode(ids.narrow(1, i, 1), cache)).ToList(), 1);
            double rms = reference.square().mean().sqrt().item<float>();
            double worst = Math.Max(MaxDiff(reference, whole), MaxDiff(reference, steps)) / rms;
            output.WriteLine($"{fixtureName} {formatName}: logits max |diff| = {worst:F4} x RMS {rms:F3} (bound {LogitBound(format)})");
            Assert.True(worst <= LogitBound(format), $"{formatName} logits differ by {worst:F4} x their RMS, beyond {LogitBound(format)}");

            var (agree, total) = GreedyAgreement(fp32, packed, Inputs(io["input_features"]));
            output.WriteLine($"{fixtureName} {formatName}: greedy agreement {agree}/{total} = {100.0 * agree / total:F2} %");
            Assert.True(agree >= MinAgreement * total, $"{formatName}: {agree} of {total} greedy tokens agree with float32, below {MinAgreement:P0}");
        }
    }

    /// <summary>The fixture's features and seeded random log-mel-like ones of the same length.</summary>
    private static List<Tensor> Inputs(Tensor features)
    {
        var generator = new torch.Generator(17);
        var inputs = new List<Tensor> { features };
        for (int i = 0; i < RandomInputs; i++) inputs.Add(torch.randn(features.shape, generator: generator) * 0.6);
        return inputs;
    }

    /// <summary>
    /// Float32 decodes greedily to the end of the text context; the packed model is fed the same tokens one at a time and
    /// its argmax compared at every step.
    /// </summary>
    private static (int Agree, int Total) GreedyAgreement(WhisperForConditionalGeneration fp32, WhisperForConditionalGeneration packed, List<Tensor> inputs)
    {
        var special = WhisperSpecialTokens.ForVocabulary(fp32.Config.VocabSize);
        long[] prompt = special.IsMultilingual
            ? [special.StartOfTranscript, special.Language("en")!.Value, special.Transcribe, special.NoTimestamps]
            : [special.StartOfTranscript, special.NoTimestamps];
        int agree = 0, total = 0;
        foreach (var features in inputs)
        {
            using var scope = torch.NewDisposeScope();
            using var referenceCache = fp32.CreateCache(fp32.Encode(features));
            using var packedCache = packed.CreateCache(packed.Encode(features));
            var promptIds = torch.tensor(prompt, [1, prompt.Length]);
            long next = fp32.Decode(promptIds, referenceCache, prompt.Length - 1)[0, -1].argmax().item<long>();
            long mine = packed.Decode(promptIds, packedCache, prompt.Length - 1)[0, -1].argmax().item<long>();
            for (long position = prompt.Length; ; position++)
            {
                total++;
                if (mine == next) agree++;
                if (position + 1 >= fp32.Config.MaxTargetPositions) break;
                var token = torch.tensor(new[] { next }, [1, 1]);
                mine = packed.Decode(token, packedCache)[0, -1].argmax().item<long>();
                next = fp32.Decode(token, referenceCache)[0, -1].argmax().item<long>();
            }
        }
        return (agree, total);
    }

    private static double MaxDiff(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    [SkippableTheory]
    [InlineData("int8", null)]
    [InlineData("int8", 3)]
    [InlineData("f16", 3)]
    public void Transcriber_with_a_packed_decoder_gives_the_float32_greedy_and_beam_results(string formatName, int? beams)
    {
        string path = WhisperTokenizerTests.GgmlPath;
        Skip.IfNot(File.Exists(path), "whisper fixture not present");
        using var reference = WhisperPretrained.Load(path);
        using var packed = WhisperPretrained.Load(path, WeightFormats.Parse(formatName));
        Assert.Equal(WeightFormats.Parse(formatName), packed.Model.DecoderWeights);
        using var scope = torch.NewDisposeScope();
        using var grad = torch.no_grad();
        using var io = SafeTensorsFile.Open(Path.Combine(WhisperTokenizerTests.FixtureFolder, "io.safetensors"));
        var audio = io.Read("audio");
        var options = new Speech.Decoding.WhisperDecodingOptions { BeamSize = beams, Language = "en", MaxSampledTokens = 12 };
        var results = new[] { reference, packed }.Select(p =>
        {
            var transcriber = new Speech.Decoding.WhisperTranscriber(p);
            return transcriber.DecodeWindow(transcriber.EncodeWindow(p.FrontEnd.Compute(audio)), [], "en", options, 0);
        }).ToList();
        output.WriteLine($"{formatName}, beams {beams?.ToString() ?? "greedy"}: fp32 [{string.Join(",", results[0].Tokens)}] {results[0].AverageLogProb:F4}; packed [{string.Join(",", results[1].Tokens)}] {results[1].AverageLogProb:F4}");
        Assert.Equal(results[0].Tokens, results[1].Tokens);
    }

    [Fact]
    public void Packed_keys_are_the_decoder_projections_and_the_token_table_and_bytes_shrink()
    {
        var config = new WhisperConfig
        {
            NumMelBins = 80, MaxSourcePositions = 16, DModel = 64, EncoderAttentionHeads = 2, EncoderLayers = 1, EncoderFfnDim = 128,
            DecoderAttentionHeads = 2, DecoderLayers = 2, DecoderFfnDim = 256, VocabSize = 51865, MaxTargetPositions = 16,
        };
        using var fp32 = new WhisperForConditionalGeneration(config);
        using var int8 = new WhisperForConditionalGeneration(config, WeightFormat.Int8);
        var keys = int8.PackedWeights().Keys.ToHashSet();
        Assert.Equal(WhisperDecoder.PackedKeys(config).Order(), keys.Order());
        var dense = fp32.state_dict();
        // Every other key stays a parameter under its own name; the packed ones leave the state dict.
        Assert.Equal(dense.Keys.Where(k => !keys.Contains(k)).Order(), int8.state_dict().Keys.Order());
        int8.LoadWeights(dense, "random");
        long values = keys.Sum(k => dense[k].numel());
        var (_, packedBytes) = int8.WeightBytes();
        Assert.Equal(values + values / PackedMatrix.BlockSize * 4, packedBytes);
        using var f16 = new WhisperForConditionalGeneration(config, WeightFormat.F16);
        f16.LoadWeights(dense, "random");
        Assert.Equal(values * 2, f16.WeightBytes().Packed);

        var missing = dense.Where(p => p.Key != "model.decoder.layers.1.fc2.weight").ToDictionary(p => p.Key, p => p.Value);
        using var broken = new WhisperForConditionalGeneration(config, WeightFormat.Int8);
        Assert.Contains("model.decoder.layers.1.fc2.weight", Assert.Throws<CheckpointException>(() => broken.LoadWeights(missing, "m.safetensors")).Message);
        var wrong = new Dictionary<string, Tensor>(dense) { ["model.decoder.layers.0.fc1.weight"] = torch.zeros(3, 64) };
        Assert.Contains("shape mismatches: model.decoder.layers.0.fc1.weight", Assert.Throws<CheckpointException>(() => broken.LoadWeights(wrong, "m.safetensors")).Message);
    }

    public static TheoryData<string> GgmlFixtures()
    {
        var data = new TheoryData<string>();
        foreach (var fixture in ReferenceFixture.Discover().Where(f => f.Kind == "whisper" && File.Exists(f.File("ggml-model.bin"))))
            data.Add(fixture.Name);
        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(GgmlFixtures))]
    public void Q8_0_files_run_as_stored_and_decode_as_the_F16_file_does(string fixtureName)
    {
        var fixture = Fixture(fixtureName);
        using var dir = new TempDir();
        using var _ = torch.no_grad();
        // Our writer's Q8_0 of the F16 file; the fixture's own (whisper-quantize's) must be byte for byte the same.
        string ours = dir.File("ggml-model-q8_0.bin");
        using (var f16File = WhisperGgmlFile.Read(fixture.File("ggml-model.bin")))
            WhisperGgmlWriter.Write(ours, f16File.Config, f16File.HuggingFaceStateDict(), GgmlType.Q8_0, f16File.Vocabulary);
        var files = new List<string> { ours };
        string theirs = fixture.File("ggml-model-q8_0.bin");
        if (File.Exists(theirs))
        {
            files.Add(theirs);
            using var a = WhisperGgmlFile.Read(ours, (_, _) => true);
            using var b = WhisperGgmlFile.Read(theirs, (_, _) => true);
            Assert.Equal(b.Hparams, a.Hparams);
            Assert.Equal(b.StoredTensors.Keys.Order(), a.StoredTensors.Keys.Order());
            foreach (var (name, t) in b.StoredTensors)
                Assert.True(t.Type == a.StoredTensors[name].Type && t.Data.AsSpan().SequenceEqual(a.StoredTensors[name].Data), $"{name}: our Q8_0 differs from whisper-quantize's");
        }

        var (reference, referenceFile) = WhisperGgmlFile.LoadModel(fixture.File("ggml-model.bin"), WeightFormat.Fp32);
        referenceFile.Dispose();
        using (reference)
        {
            reference.eval();
            foreach (var path in files)
            {
                using var scope = torch.NewDisposeScope();
                var (model, file) = WhisperGgmlFile.LoadModel(path, WeightFormat.Int8);
                using (file)
                using (model)
                {
                    model.eval();
                    // The decoder's matrices were kept as stored and their blocks became the packed values unchanged.
                    var keys = WhisperDecoder.PackedKeys(model.Config);
                    Assert.All(file.Tensors.Keys, name => Assert.False(keys.Contains(GgmlTensorNames.ToHuggingFace(name) ?? name), $"{name} was widened to float32"));
                    var table = file.StoredTensors["decoder.token_embedding.weight"];
                    Assert.Equal(GgmlType.Q8_0, table.Type);
                    var expected = new float[table.Shape[0] * table.Shape[1]];
                    GgmlDequantizer.Dequantize(GgmlType.Q8_0, table.Data, expected);
                    var held = ((PackedEmbedding)model.PackedWeights()["model.decoder.embed_tokens.weight"]).Weight.ToFloat32(0, (int)table.Shape[0]);
                    Assert.True(held.flatten().eq(torch.tensor(expected)).all().item<bool>(), "packed Q8_0 values differ from the file's blocks");

                    var io = Close.ReadIo(fixture);
                    var ids = io["decoder_input_ids"];
                    Tensor expectedLogits, actual;
                    using (var cache = reference.CreateCache(reference.Encode(io["input_features"]))) expectedLogits = reference.Decode(ids, cache);
                    using (var cache = model.CreateCache(model.Encode(io["input_features"])))
                        actual = torch.cat(Enumerable.Range(0, (int)ids.shape[1]).Select(i => model.Decode(ids.narrow(1, i, 1), cache)).ToList(), 1);
                    double rms = expectedLogits.square().mean().sqrt().item<float>();
                    double worst = MaxDiff(expectedLogits, actual) / rms;
                    var (agree, total) = GreedyAgreement(reference, model, Inputs(io["input_features"]));
                    output.WriteLine($"{Path.GetFileName(path)} (int8) vs ggml-model.bin (fp32): logits max |diff| {worst:F4} x RMS; greedy agreement {agree}/{total}");
                    Assert.True(worst <= LogitBound(WeightFormat.Int8), $"{path}: logits differ by {worst:F4} x RMS");
                    Assert.True(agree >= MinAgreement * total, $"{path}: {agree} of {total} greedy tokens agree with the F16 file");
                }
            }
        }
    }
}
