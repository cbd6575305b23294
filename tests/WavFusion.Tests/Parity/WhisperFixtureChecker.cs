using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Decoding;
using WavFusion.Speech.Streaming;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace WavFusion.Tests.Parity;

/// <summary>
/// Whisper fixtures: the front end on <c>audio</c>, the encoder on <c>input_features</c>, decoder logits
/// on <c>decoder_input_ids</c> (whole sequence and token by token through the KV cache).
/// Every size comes from config.json and the tensors present.
/// </summary>
public sealed class WhisperFixtureChecker : IReferenceFixtureChecker
{
    public string Kind => "whisper";

    public void Check(ReferenceFixture fixture, ITestOutputHelper log)
    {
        var config = WhisperConfig.Load(fixture.File("config.json"));
        var io = Close.ReadIo(fixture);
        using var _ = torch.no_grad();
        using var scope = torch.NewDisposeScope();

        using var mel = new LogMelSpectrogram(config.NumMelBins);
        var audio = io["audio"];
        Close.Assert(io["log_mel_full"], mel.Compute(audio), 1e-4, "log_mel_full", log);
        // input_features is openai-whisper's pad_or_trim of the log-mel to the encoder's frame count.
        var features = io["input_features"];
        var fitted = LogMelSpectrogram.PadOrTrim(mel.Compute(audio), features.shape[2]).unsqueeze(0);
        Close.Assert(features, fitted, 1e-4, "input_features", log);

        using var model = new WhisperForConditionalGeneration(config);
        using (var weights = SafeTensorsFile.Open(fixture.File("model.safetensors")))
            StateDictLoader.Load(model, weights.ReadAll(), fixture.File("model.safetensors"));
        model.eval();

        var encoded = model.Encode(io["input_features"]);
        Close.Assert(io["encoder_last_hidden_state"], encoded, 1e-4, "encoder_last_hidden_state", log);

        var ids = io["decoder_input_ids"];
        var expected = io["logits"];
        using (var cache = model.CreateCache(encoded))
            Close.Assert(expected, model.Decode(ids, cache), 1e-3, "logits (full sequence)", log);

        using (var cache = model.CreateCache(encoded))
        {
            var steps = new List<Tensor>();
            for (long i = 0; i < ids.shape[1]; i++) steps.Add(model.Decode(ids.narrow(1, i, 1), cache));
            Close.Assert(expected, torch.cat(steps, 1), 1e-3, "logits (incremental, KV cache)", log);
        }

        // Prompt in one pass, then the rest token by token: the cached-prefix mask path.
        using (var cache = model.CreateCache(encoded))
        {
            long prompt = Math.Min(4, ids.shape[1] - 1);
            var parts = new List<Tensor> { model.Decode(ids.narrow(1, 0, prompt), cache) };
            parts.Add(model.Decode(ids.narrow(1, prompt, ids.shape[1] - prompt), cache));
            Close.Assert(expected, torch.cat(parts, 1), 1e-3, "logits (prompt then continuation)", log);
        }

        Dictionary<string, Tensor> reference;
        using (var weights = SafeTensorsFile.Open(fixture.File("model.safetensors")))
            reference = weights.ReadAll();
        foreach (var path in Directory.GetFiles(fixture.Folder, "ggml-model*.bin").Order(StringComparer.Ordinal))
            CheckGgml(path, config, reference, log);
    }

    private static void CheckGgml(string path, WhisperConfig config, Dictionary<string, Tensor> reference, ITestOutputHelper log)
    {
        string file = Path.GetFileName(path);
        using var ggml = WhisperGgmlFile.Read(path);
        var fromFile = ggml.Config;
        Assert.True(fromFile.NumMelBins == config.NumMelBins && fromFile.DModel == config.DModel
            && fromFile.EncoderLayers == config.EncoderLayers && fromFile.DecoderLayers == config.DecoderLayers
            && fromFile.EncoderAttentionHeads == config.EncoderAttentionHeads && fromFile.DecoderAttentionHeads == config.DecoderAttentionHeads
            && fromFile.VocabSize == config.VocabSize && fromFile.MaxSourcePositions == config.MaxSourcePositions
            && fromFile.MaxTargetPositions == config.MaxTargetPositions && fromFile.EncoderFfnDim == config.EncoderFfnDim
            && fromFile.DecoderFfnDim == config.DecoderFfnDim, $"{file}: hparams {ggml.Hparams} do not match config.json");
        Assert.Equal(config.DecoderStartTokenId, ggml.SpecialTokens.StartOfTranscript);
        Assert.Equal(config.EosTokenId, ggml.SpecialTokens.EndOfText);
        Assert.Equal(ggml.SpecialTokens.EndOfText, ggml.Vocabulary.Count);

        var filters = MelFilterBank.Create(WhisperAudio.SampleRate, WhisperAudio.NFft, config.NumMelBins);
        double filterDiff = filters.Zip(ggml.MelFilters, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(filterDiff <= 1e-6 * filters.Max(), $"{file}: stored mel filters differ from ours by {filterDiff:E2}");

        var mapped = ggml.HuggingFaceStateDict();
        Assert.Equal(reference.Keys.Order(StringComparer.Ordinal), mapped.Keys.Order(StringComparer.Ordinal));
        var baseType = ggml.Hparams.WeightType ?? throw new InvalidOperationException($"{file}: unknown ftype {ggml.Hparams.FType}");
        int quantised = 0;
        double worst = 0;
        foreach (var (name, t) in ggml.Tensors)
        {
            string key = GgmlTensorNames.ToHuggingFace(name)!;
            double ratio = CheckTensor(reference[key], mapped[key], t.Type, $"{file}: {name} ({t.Type})");
            worst = Math.Max(worst, ratio);
            if (t.Type == baseType && baseType is not (GgmlType.F16 or GgmlType.F32)) quantised++;
        }
        if (baseType is not (GgmlType.F16 or GgmlType.F32))
            Assert.True(quantised > 0, $"{file}: ftype {ggml.Hparams.FType} names {baseType} but no tensor is stored as {baseType}");
        log.WriteLine($"  {file}: {ggml.Tensors.Count} tensors, ftype {ggml.Hparams.FType}, {quantised} quantised; worst error {worst:F3} of tolerance");

        using var model = ggml.CreateModel();
    }

    /// <summary>Returns the worst |error| / tolerance; asserts it is at most 1.</summary>
    private static double CheckTensor(Tensor expected, Tensor actual, GgmlType type, string what)
    {
        Assert.True(expected.numel() == actual.numel(), $"{what}: {actual.numel()} values, reference has {expected.numel()}");
        using var scope = torch.NewDisposeScope();
        var reference = expected.to(ScalarType.Float64).flatten();
        var error = (reference - actual.to(ScalarType.Float64).flatten()).abs();
        // Half-precision rounding and the smallest subnormal step; quantisation steps per 32-value block from the reference.
        const double halfSubnormal = 5.96e-8;
        Tensor tolerance;
        if (type is GgmlType.F32 or GgmlType.F16)
            tolerance = reference.abs() * 1e-3 + halfSubnormal;
        else
        {
            var blocks = reference.view(-1, 32);
            var amax = blocks.abs().amax([1], keepdim: true);
            var range = blocks.amax([1], keepdim: true) - blocks.amin([1], keepdim: true);
            var step = type switch
            {
                GgmlType.Q8_0 => amax / 127,
                GgmlType.Q5_0 => amax / 16,
                GgmlType.Q4_0 => amax / 8,
                GgmlType.Q5_1 => range / 31,
                GgmlType.Q4_1 => range / 15,
                _ => throw new InvalidOperationException($"{what}: no tolerance rule for {type}"),
            };
            tolerance = (step * 1.1 + halfSubnormal).expand(-1, 32).flatten();
        }
        var ratio = error / tolerance;
        double worst = ratio.max().item<double>();
        long at = ratio.argmax().item<long>();
        Assert.True(worst <= 1.0, $"{what}: value {at} is {actual.flatten()[at].item<float>()}, reference {reference[at].item<double>()}, error {error[at].item<double>():E3} exceeds tolerance {tolerance[at].item<double>():E3}");
        return worst;
    }
}
