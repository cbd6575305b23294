using System.Runtime.CompilerServices;

using TorchSharp;

using WavFusion.Core.Quantization;
using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Decoding;
using WavFusion.Speech.Streaming;

namespace WavFusion.Live.Asr;

/// <summary>Our TorchSharp Whisper behind <see cref="IAsrBackend"/>: the loaded model, its transcriber and its hypothesis source.</summary>
public sealed class TorchSharpAsrBackend : IAsrBackend
{
    private readonly WhisperPretrained _pretrained;
    private readonly WhisperTranscriber _transcriber;
    private readonly WhisperHypothesisSource _hypotheses;
    private readonly WhisperDecodingOptions _options;

    public TorchSharpAsrBackend(WhisperPretrained pretrained, AsrOptions options)
    {
        ArgumentNullException.ThrowIfNull(pretrained);
        ArgumentNullException.ThrowIfNull(options);
        _pretrained = pretrained;
        _transcriber = new WhisperTranscriber(pretrained);
        _options = new WhisperDecodingOptions
        {
            Language = options.Language,
            BeamSize = options.BeamSize > 1 ? options.BeamSize : null,
            Task = options.Translate ? WhisperTask.Translate : WhisperTask.Transcribe,
            WithoutTimestamps = options.WithoutTimestamps,
        };
        _hypotheses = new WhisperHypothesisSource(_transcriber, _options);
    }

    /// <summary>Loads a Hugging Face folder or a ggml file.</summary>
    public static TorchSharpAsrBackend Load(string path, AsrOptions options)
    {
        var pretrained = WhisperPretrained.Load(path, options.Weights);
        try
        {
            return new TorchSharpAsrBackend(pretrained, options);
        }
        catch
        {
            pretrained.Dispose();
            throw;
        }
    }

    public AsrBackendKind Kind => AsrBackendKind.TorchSharp;
    public string Description => $"torchsharp {_pretrained.Source} ({_pretrained.Model.DecoderWeights.Name()} decoder)";
    public WhisperSpecialTokens Special => _pretrained.Special;

    /// <summary>What the loaded weights occupy, e.g. "weights 120.3 MB (decoder int8: 40.1 MB packed; fp32 would be 290.4 MB)".</summary>
    public string WeightMemory => DescribeWeights(_pretrained.Model);

    /// <summary>The model's weight bytes as held, and what float32 would have taken.</summary>
    public static string DescribeWeights(WhisperForConditionalGeneration model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var (dense, packed) = model.WeightBytes();
        if (packed == 0) return FormattableString.Invariant($"weights {dense / 1e6:F1} MB (fp32)");
        long packedValues = model.PackedWeights().Values.Sum(p => p.WeightShape[0] * p.WeightShape[1]);
        return FormattableString.Invariant(
            $"weights {(dense + packed) / 1e6:F1} MB (decoder {model.DecoderWeights.Name()}: {packed / 1e6:F1} MB packed; fp32 would be {(dense + packedValues * 4) / 1e6:F1} MB)");
    }

    public Task<IReadOnlyList<TimedWord>> TranscribeAsync(float[] audio, string prompt, CancellationToken cancellationToken) =>
        _hypotheses.TranscribeAsync(audio, prompt, cancellationToken);

    public async IAsyncEnumerable<TranscriptSegment> TranscribeFileAsync(float[] audio, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var segments = await Task.Run(() =>
        {
            using var _ = torch.no_grad();
            return _transcriber.Transcribe(audio, _options, cancellationToken);
        }, cancellationToken).ConfigureAwait(false);
        foreach (var s in segments)
            yield return new TranscriptSegment(s.Text.Trim(), TimeSpan.FromSeconds(s.Start), TimeSpan.FromSeconds(s.End), true, 1.0);
    }

    public void Dispose() => _pretrained.Dispose();
}
