using System.Globalization;
using TorchSharp;
using WavFusion.Models.Text;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace WavFusion.Tests.Parity;

/// <summary>
/// RoBERTa fixtures: the checkpoint goes through <see cref="RobertaModel.FromPretrained"/>, the model sees
/// io.safetensors' input_ids and attention_mask, and hidden_states.N (N = 0 is the embedding output) and
/// last_hidden_state are compared on the rows the mask keeps, since padded rows carry no meaning.
/// </summary>
public sealed class RobertaFixtureChecker : IReferenceFixtureChecker
{
    private const double Tolerance = 1e-4;
    private const string HiddenStatePrefix = "hidden_states.";

    public string Kind => "roberta";

    public void Check(ReferenceFixture fixture, ITestOutputHelper log)
    {
        using var scope = torch.NewDisposeScope();
        using var model = RobertaModel.FromPretrained(fixture.Folder);
        var io = Close.ReadIo(fixture);
        Assert.True(io.ContainsKey("input_ids") && io.ContainsKey("attention_mask"),
            $"{fixture.Name}: io.safetensors lacks input_ids or attention_mask");
        var mask = io["attention_mask"];
        var valid = mask.ne(0);
        log.WriteLine($"{fixture.Name}: input [{string.Join(", ", io["input_ids"].shape)}], {valid.sum().item<long>()} real tokens, {model.Config.NumHiddenLayers} layers");

        using var _ = torch.no_grad();
        using var output = model.Encode(io["input_ids"], mask);

        Tensor Rows(Tensor t) => t.index(valid);
        int checkedCount = 0;
        foreach (var (name, expected) in io.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            Tensor? actual = null;
            if (name == "last_hidden_state")
                actual = output.LastHiddenState;
            else if (name.StartsWith(HiddenStatePrefix, StringComparison.Ordinal))
            {
                int n = int.Parse(name[HiddenStatePrefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture);
                Assert.True(n < output.HiddenStates.Count,
                    $"{fixture.Name}: reference has {name} but config.json gives {model.Config.NumHiddenLayers} layers");
                actual = output.HiddenStates[n];
            }
            if (actual is null) continue;
            Assert.True(expected.shape.SequenceEqual(actual.shape),
                $"{name}: shape [{string.Join(", ", actual.shape)}] but reference is [{string.Join(", ", expected.shape)}]");
            Close.Assert(Rows(expected), Rows(actual), Tolerance, name, log);
            checkedCount++;
        }
        Assert.True(io.ContainsKey("hidden_states.0") && io.ContainsKey("last_hidden_state"),
            $"{fixture.Name}: io.safetensors lacks hidden_states.0 or last_hidden_state");
        log.WriteLine($"{fixture.Name}: {checkedCount} reference tensors checked");
    }
}
