using Microsoft.ML.OnnxRuntime;

using WavFusion.Live.Pipeline;
using WavFusion.Media;

namespace WavFusion.Live.Stages;

/// <summary>
/// Silero VAD for one stream: chunks of any length are cut into 512-sample frames (32 ms at 16 kHz), each frame
/// is scored with the 64 samples before it as context and the recurrent state carried from the previous frame,
/// and the frame probabilities drive a hysteresis:
/// <list type="bullet">
/// <item>speech is a candidate from the first frame with p ≥ <see cref="VadOptions.Threshold"/>, and is confirmed
/// once it has lasted <see cref="VadOptions.MinSpeechMs"/> without a frame below
/// <see cref="VadOptions.NegativeThreshold"/>; so blips shorter than that never become speech, and a begin is
/// known <c>MinSpeechMs</c> after it happened rather than at the end of the segment;</item>
/// <item>speech ends when frames stay below the negative threshold (none reaching the threshold again) for
/// <see cref="VadOptions.MinSilenceMs"/>; the end is placed where that silence began.</item>
/// </list>
/// <see cref="Detect"/> reports the state after the chunk's last whole frame and the chunk's highest frame
/// probability. A decision that changes the state carries in <see cref="SpeechActivity.Start"/> the stream time
/// the new state began (the confirmed speech start, or the start of the silence), which lies before the chunk
/// when the hysteresis confirmed it late; otherwise Start is the chunk's start. A whole segment shorter than one
/// chunk leaves no trace in the chunk's decision, which the 32 ms chunks of live capture never hide.
/// </summary>
public sealed class SileroVoiceActivityDetector : IVoiceActivityDetector, IDisposable
{
    private const int Rate = AudioChunk.SampleRate;

    private readonly SileroVadModel _model;
    private readonly bool _ownsModel;
    private readonly float _threshold;
    private readonly float _negativeThreshold;
    private readonly long _minSpeechSamples;
    private readonly long _minSilenceSamples;

    // One input buffer (context then frame) and two state buffers used in turn as input and output, wrapped once in
    // OrtValues that pin them: a frame allocates nothing.
    private readonly float[] _input = new float[SileroVadModel.ContextSamples + SileroVadModel.FrameSamples];
    private readonly float[][] _state = new float[2][];
    private readonly float[] _probability = new float[1];
    private readonly long[] _sampleRate = [Rate];
    private readonly OrtValue _inputValue;
    private readonly OrtValue[] _stateValues;
    private readonly OrtValue _probabilityValue;
    private readonly OrtValue _sampleRateValue;
    private readonly OrtValue[][] _inputValues;   // by which state buffer is the input
    private readonly OrtValue[][] _outputValues;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly RunOptions _runOptions = new();
    private int _currentState;
    private bool _disposed;

    private int _pending;             // samples of the next frame already in _input after the context
    private long _nextSample = -1;    // stream sample index the next chunk should start at; -1 before the first
    private float _lastProbability;
    private bool _speech;
    private long _candidateStart = -1;
    private long _silenceStart = -1;

    /// <summary>A detector that loads (and owns) the model at <paramref name="modelPath"/>.</summary>
    public SileroVoiceActivityDetector(string modelPath, VadOptions options)
        : this(new SileroVadModel(modelPath), options, ownsModel: true)
    {
    }

    /// <summary>A detector for one stream over a model shared with other streams (not disposed with it).</summary>
    public SileroVoiceActivityDetector(SileroVadModel model, VadOptions options)
        : this(model, options, ownsModel: false)
    {
    }

    private SileroVoiceActivityDetector(SileroVadModel model, VadOptions options, bool ownsModel)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        try
        {
            if (options.Threshold is <= 0 or >= 1 || options.NegativeThreshold is <= 0 or >= 1 || options.NegativeThreshold > options.Threshold)
                throw new ArgumentOutOfRangeException(nameof(options), $"vad.threshold ({options.Threshold}) and vad.negative_threshold ({options.NegativeThreshold}) must lie in (0, 1), the negative one not above the other");
            if (options.MinSpeechMs < 0 || options.MinSilenceMs < 0)
                throw new ArgumentOutOfRangeException(nameof(options), $"vad.min_speech_ms ({options.MinSpeechMs}) and vad.min_silence_ms ({options.MinSilenceMs}) must not be negative");
            _model = model;
            _ownsModel = ownsModel;
            _threshold = (float)options.Threshold;
            _negativeThreshold = (float)options.NegativeThreshold;
            _minSpeechSamples = (long)options.MinSpeechMs * Rate / 1000;
            _minSilenceSamples = (long)options.MinSilenceMs * Rate / 1000;

            long[] stateShape = [.. model.StateShape];
            long stateSize = stateShape.Aggregate(1L, (a, b) => a * b);
            _state[0] = new float[stateSize];
            _state[1] = new float[stateSize];
            _inputValue = OrtValue.CreateTensorValueFromMemory(_input, [1, _input.Length]);
            _stateValues = [OrtValue.CreateTensorValueFromMemory(_state[0], stateShape), OrtValue.CreateTensorValueFromMemory(_state[1], stateShape)];
            _probabilityValue = OrtValue.CreateTensorValueFromMemory(_probability, [1, 1]);
            _sampleRateValue = OrtValue.CreateTensorValueFromMemory(_sampleRate, []);
            _inputValues = [[_inputValue, _stateValues[0], _sampleRateValue], [_inputValue, _stateValues[1], _sampleRateValue]];
            _outputValues = [[_probabilityValue, _stateValues[1]], [_probabilityValue, _stateValues[0]]];
            _inputNames = [model.AudioInput, model.StateInput, model.SampleRateInput];
            _outputNames = [model.ProbabilityOutput, model.StateOutput];
        }
        catch
        {
            if (ownsModel) model.Dispose();
            throw;
        }
    }

    /// <summary>Probability of the last scored frame.</summary>
    public float LastProbability => _lastProbability;

    /// <summary>Frames scored since the last reset.</summary>
    public long Frames { get; private set; }

    public SpeechActivity Detect(AudioChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ObjectDisposedException.ThrowIf(_disposed, this);
        long chunkStart = StreamSamples.FromTime(chunk.StreamTime);
        if (chunkStart != _nextSample)
        {
            // A gap or overlap in stream time (the first chunk, or capture dropped audio): a partial frame would mix
            // audio from both sides, so it is dropped and framing restarts at this chunk; the hysteresis, in stream
            // time, carries on.
            _pending = 0;
        }
        _nextSample = chunkStart + chunk.Samples.Length;

        bool wasSpeech = _speech;
        long changedAt = -1;
        float maxProbability = -1;
        var samples = chunk.Samples.AsSpan();
        long frameStart = chunkStart - _pending;
        while (samples.Length > 0)
        {
            int take = Math.Min(samples.Length, SileroVadModel.FrameSamples - _pending);
            samples[..take].CopyTo(_input.AsSpan(SileroVadModel.ContextSamples + _pending));
            samples = samples[take..];
            _pending += take;
            if (_pending < SileroVadModel.FrameSamples) break;

            float p = Score();
            maxProbability = Math.Max(maxProbability, p);
            if (Step(p, frameStart, frameStart + SileroVadModel.FrameSamples) is { } at) changedAt = at;
            frameStart += SileroVadModel.FrameSamples;
            _pending = 0;
        }
        if (maxProbability < 0) maxProbability = _lastProbability;
        var start = _speech != wasSpeech ? StreamSamples.ToTime(changedAt) : chunk.StreamTime;
        return new SpeechActivity(start, chunk.End, _speech, maxProbability);
    }

    public void Reset()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Array.Clear(_input);
        Array.Clear(_state[0]);
        Array.Clear(_state[1]);
        _currentState = 0;
        _pending = 0;
        _nextSample = -1;
        _lastProbability = 0;
        _speech = false;
        _candidateStart = -1;
        _silenceStart = -1;
        Frames = 0;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _inputValue.Dispose();
        _stateValues[0].Dispose();
        _stateValues[1].Dispose();
        _probabilityValue.Dispose();
        _sampleRateValue.Dispose();
        _runOptions.Dispose();
        if (_ownsModel) _model.Dispose();
    }

    /// <summary>Scores the frame in _input, advances the recurrent state and keeps the frame's tail as the next context.</summary>
    private float Score()
    {
        _model.Session.Run(_runOptions, _inputNames, _inputValues[_currentState], _outputNames, _outputValues[_currentState]);
        _currentState = 1 - _currentState;
        _input.AsSpan(_input.Length - SileroVadModel.ContextSamples).CopyTo(_input);
        Frames++;
        return _lastProbability = _probability[0];
    }

    /// <summary>Advances the hysteresis by one frame; the stream sample where the state changed, if it did.</summary>
    private long? Step(float p, long frameStart, long frameEnd)
    {
        if (!_speech)
        {
            if (_candidateStart < 0)
            {
                if (p < _threshold) return null;
                _candidateStart = frameStart;
            }
            else if (p < _negativeThreshold)
            {
                _candidateStart = -1;
                return null;
            }
            if (frameEnd - _candidateStart < _minSpeechSamples) return null;
            _speech = true;
            _silenceStart = -1;
            long begin = _candidateStart;
            _candidateStart = -1;
            return begin;
        }
        if (p >= _threshold)
        {
            _silenceStart = -1;
            return null;
        }
        if (p < _negativeThreshold && _silenceStart < 0) _silenceStart = frameStart;
        if (_silenceStart < 0 || frameEnd - _silenceStart < _minSilenceSamples) return null;
        _speech = false;
        long end = _silenceStart;
        _silenceStart = -1;
        return end;
    }
}
