using TorchSharp;
using static TorchSharp.torch;

namespace WavFusion.Models.Text;

/// <summary>The config.json hidden_act values the BERT family uses, as functions.</summary>
internal static class TextActivation
{
    public static Func<Tensor, Tensor> Resolve(string name, string source) => name switch
    {
        // transformers maps "gelu" to the exact erf form; "gelu_new" and "gelu_pytorch_tanh" to the tanh form.
        "gelu" => x => nn.functional.gelu(x),
        "gelu_new" or "gelu_pytorch_tanh" => x => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        "relu" => x => nn.functional.relu(x),
        _ => throw new ArgumentException($"{source}: hidden_act '{name}' is not supported (gelu, gelu_new, gelu_pytorch_tanh, relu)"),
    };
}
