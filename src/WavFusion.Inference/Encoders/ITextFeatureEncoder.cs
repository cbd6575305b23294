using static TorchSharp.torch;

namespace WavFusion.Inference.Encoders;

/// <summary>A frozen text encoder (RoBERTa, BERT): token features of one transcript.</summary>
public interface ITextFeatureEncoder : IDisposable
{
    /// <summary>Identifies the configuration, weights and tokenizer; part of the feature-cache key.</summary>
    string ModelHash { get; }

    /// <summary>Hidden size: the fusion model's <c>text_dim</c>.</summary>
    int Dim { get; }

    /// <summary>(tokens, <see cref="Dim"/>) float32 on the CPU: the last hidden state, special tokens included.</summary>
    Tensor Encode(string text);
}
