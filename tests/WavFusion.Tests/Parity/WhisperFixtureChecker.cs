using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Speech.Whisper;
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
    }
}
