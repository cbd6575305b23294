using System.Globalization;
using TorchSharp;
using WavFusion.Models.Wav2Vec2;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace WavFusion.Tests.Parity;

/// <summary>
/// wav2vec2 fixtures (torchaudio reference): loads the folder through <see cref="Wav2Vec2Model.FromPretrained"/>,
/// checks the feature-extractor normalisation of raw_waveform against input_values, then extract_features,
/// every layer_output.N present and last_hidden_state. Sizes come from config.json and the tensors present.
/// An optional attention_mask (B, samples) in io.safetensors is honoured for both checks.
/// </summary>
public sealed class Wav2Vec2FixtureChecker : IReferenceFixtureChecker
{
    private const double Tolerance = 1e-4;
    // Normalisation is a few float32 operations per sample; a looser match would hide a wrong epsilon.
    private const double NormalisationTolerance = 1e-5;
    private const string LayerOutputPrefix = "layer_output.";

    public string Kind => "wav2vec2";

    public void Check(ReferenceFixture fixture, ITestOutputHelper log)
    {
        using var scope = torch.NewDisposeScope();
        var io = Close.ReadIo(fixture);
        using var model = Wav2Vec2Model.FromPretrained(fixture.Folder);
        log.WriteLine($"{fixture.Name}: hidden {model.Config.HiddenSize}, {model.Config.NumHiddenLayers} layers, feat_extract_norm {model.Config.FeatExtractNorm}, stable {model.Config.DoStableLayerNorm}");

        var inputValues = io["input_values"];
        io.TryGetValue("attention_mask", out var sampleMask);

        if (io.TryGetValue("raw_waveform", out var raw))
            CheckNormalisation(raw, sampleMask, inputValues, log);

        using var _ = torch.inference_mode();
        using var output = model.forward(inputValues.to(ScalarType.Float32), sampleMask);
        Close.Assert(io["extract_features"], output.ExtractFeatures, Tolerance, "extract_features", log);

        var layerIndices = io.Keys
            .Where(k => k.StartsWith(LayerOutputPrefix, StringComparison.Ordinal))
            .Select(k => int.Parse(k[LayerOutputPrefix.Length..], CultureInfo.InvariantCulture))
            .Order()
            .ToList();
        Assert.True(layerIndices.Count == 0 || layerIndices[^1] < output.LayerOutputs.Count,
            $"fixture has layer_output.{layerIndices.LastOrDefault()} but the model has {output.LayerOutputs.Count} layers");
        foreach (int i in layerIndices)
            Close.Assert(io[LayerOutputPrefix + i.ToString(CultureInfo.InvariantCulture)], output.LayerOutputs[i], Tolerance, $"layer_output.{i}", log);

        Close.Assert(io["last_hidden_state"], output.LastHiddenState, Tolerance, "last_hidden_state", log);
    }

    private static void CheckNormalisation(Tensor raw, Tensor? sampleMask, Tensor expected, ITestOutputHelper log)
    {
        var rows = new List<float[]>();
        for (long b = 0; b < raw.shape[0]; b++)
        {
            long valid = sampleMask is null ? raw.shape[1] : sampleMask[b].ne(0).sum().item<long>();
            rows.Add(raw[b, ..(int)valid].to(ScalarType.Float32).data<float>().ToArray());
        }
        using var batch = new Wav2Vec2FeatureExtractor().NormalizeBatch(rows);
        // Padding positions are compared too: the reference pads with zeros after normalising, as we do.
        Close.Assert(expected, batch.InputValues, NormalisationTolerance, "input_values (feature-extractor normalisation of raw_waveform)", log);
    }
}
