using TorchSharp;
using WavFusion.Models.Text;
using static TorchSharp.torch;

namespace WavFusion.Inference.Encoders;

/// <summary>A loaded RoBERTa / BERT with its tokenizer, frozen: eval mode, no autograd, one transcript at a time.</summary>
internal sealed class TextFeatureEncoder : ITextFeatureEncoder
{
    private readonly TextEncoderModel _model;
    private readonly TextTokenizer _tokenizer;
    private readonly Device _device;
    private readonly int _maxTokens;

    public TextFeatureEncoder(TextEncoderModel model, TextTokenizer tokenizer, Device device, string modelHash)
    {
        _model = model;
        _tokenizer = tokenizer;
        _device = device;
        ModelHash = modelHash;
        foreach (var p in _model.parameters()) p.requires_grad = false;
        _model.eval();
        // RoBERTa numbers real tokens from padding_idx + 1, so its table holds padding_idx + 1 fewer positions.
        _maxTokens = model is RobertaModel
            ? model.Config.MaxPositionEmbeddings - model.Config.PadTokenId - 1
            : model.Config.MaxPositionEmbeddings;
    }

    public string ModelHash { get; }

    public int Dim => _model.Config.HiddenSize;

    public Tensor Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        using var scope = torch.NewDisposeScope();
        using var encoded = _tokenizer.Encode([text], _maxTokens);
        Tensor hidden;
        using (torch.inference_mode())
            hidden = _model.forward(encoded.InputIds.to(_device), encoded.AttentionMask.to(_device));
        // Cloned out of inference mode so that a trainable head may consume it.
        return hidden[0].to(ScalarType.Float32).cpu().clone().contiguous().MoveToOuterDisposeScope();
    }

    public void Dispose() => _model.Dispose();
}
