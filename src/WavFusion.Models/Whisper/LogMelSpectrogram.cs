using TorchSharp;
using static TorchSharp.torch;
using static WavFusion.Core.Tensors.Scalars;

namespace WavFusion.Models.Whisper;

/// <summary>
/// Whisper's log-mel front end: centred STFT (reflect padding, periodic Hann, n_fft 400, hop 160) whose
/// last frame is dropped, power spectrum, Slaney mel bank, log10 clamped at 1e-10, a dynamic-range floor
/// 8 below the maximum, then (x + 4) / 4. The floor is taken over the whole input, so padding decides
/// the result near silence; <see cref="Compute"/> exposes it as openai-whisper's <c>padding</c>.
/// </summary>
public sealed class LogMelSpectrogram : IDisposable
{
    // Whisper's log-mel constants, process-wide and held (see WavFusion.Core.Tensors.Scalars).
    private static readonly Scalar PowerFloor = 1e-10.ToScalar();
    private static readonly Scalar DynamicRange = 8.0.ToScalar();
    private static readonly Scalar Offset = 4.0.ToScalar();
    private static readonly Scalar Scale = 4.0.ToScalar();

    private readonly Tensor _filters;
    private readonly Tensor _window;

    public int MelBins { get; }

    public LogMelSpectrogram(int melBins) : this(melBins, MelFilterBank.Create(WhisperAudio.SampleRate, WhisperAudio.NFft, melBins)) { }

    /// <param name="filters">Row-major (melBins, n_fft/2 + 1) weights, e.g. the bank stored in a ggml file.</param>
    public LogMelSpectrogram(int melBins, ReadOnlySpan<float> filters)
    {
        const int nFreq = WhisperAudio.NFft / 2 + 1;
        if (filters.Length != melBins * nFreq)
            throw new ArgumentException($"mel filter bank has {filters.Length} values, expected {melBins} x {nFreq}", nameof(filters));
        MelBins = melBins;
        _filters = torch.tensor(filters.ToArray(), [melBins, nFreq]).DetachFromDisposeScope();
        _window = torch.hann_window(WhisperAudio.NFft, periodic: true).DetachFromDisposeScope();
    }

    /// <summary>Log-mel features (melBins, frames) of 16 kHz mono audio followed by <paramref name="paddingSamples"/> zeros.</summary>
    public Tensor Compute(ReadOnlySpan<float> audio, int paddingSamples = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(paddingSamples);
        var samples = new float[audio.Length + paddingSamples];
        audio.CopyTo(samples);
        using var input = torch.tensor(samples);
        return Compute(input);
    }

    /// <summary>Features of exactly one 30 s window (melBins, 3000): the audio zero-padded or cut to 30 s.</summary>
    public Tensor ComputeWindow(ReadOnlySpan<float> audio)
    {
        var window = audio.Length > WhisperAudio.ChunkSamples ? audio[..WhisperAudio.ChunkSamples] : audio;
        return Compute(window, WhisperAudio.ChunkSamples - window.Length);
    }

    /// <summary>Log-mel features of a 1-D float32 tensor of 16 kHz samples; (melBins, frames).</summary>
    public Tensor Compute(Tensor audio)
    {
        if (audio.dim() != 1) throw new ArgumentException($"audio must be 1-D samples, got shape [{string.Join(", ", audio.shape)}]", nameof(audio));
        // Reflect padding needs more samples than half a window.
        if (audio.shape[0] <= WhisperAudio.NFft / 2)
            throw new ArgumentException($"audio has {audio.shape[0]} samples; at least {WhisperAudio.NFft / 2 + 1} (about 13 ms at 16 kHz) are needed", nameof(audio));
        using var scope = torch.NewDisposeScope();
        var x = audio.to(ScalarType.Float32);
        var window = _window.to(x.device);
        var spec = torch.stft(x, WhisperAudio.NFft, WhisperAudio.HopLength, window: window, center: true,
            pad_mode: PaddingModes.Reflect, return_complex: true);
        long frames = spec.shape[1] - 1;
        var power = spec.narrow(1, 0, frames).abs();
        power.mul_(power);
        var mel = torch.matmul(_filters.to(x.device), power);
        var log = mel.clamp_(min: PowerFloor).log10_();
        var floor = log.max().sub(DynamicRange);
        var result = torch.maximum(log, floor).add_(Offset, One).div_(Scale);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Zero-pads or cuts features (melBins, frames) to <paramref name="frames"/> frames, as openai-whisper's
    /// <c>pad_or_trim</c> does on the log-mel (zeros there are log-mel values, not silence).
    /// </summary>
    public static Tensor PadOrTrim(Tensor features, long frames)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(frames);
        long have = features.shape[^1];
        if (have == frames) return features.alias();
        if (have > frames) return features.narrow(-1, 0, frames);
        return nn.functional.pad(features, [0, frames - have]);
    }

    public void Dispose()
    {
        _filters.Dispose();
        _window.Dispose();
    }
}
