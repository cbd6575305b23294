using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Decoding;
using WavFusion.Speech.Streaming;
using static TorchSharp.torch;

namespace WavFusion.Tests.Whisper;

public sealed class WhisperDecodingTests
{
    private static readonly WhisperSpecialTokens Special = WhisperSpecialTokens.ForVocabulary(51865);
    private static int Ts(double seconds) => Special.TimestampBegin + (int)Math.Round(seconds / 0.02);

    private static float[] Flat(float textLogit = 0f, float timestampLogit = 0f)
    {
        var row = new float[Special.VocabularySize];
        Array.Fill(row, textLogit, 0, Special.TimestampBegin);
        Array.Fill(row, timestampLogit, Special.TimestampBegin, WhisperSpecialTokens.TimestampCount);
        return row;
    }

    private static bool Allowed(float[] row, int token) => !float.IsNegativeInfinity(row[token]);

    [Fact]
    public void First_token_must_be_a_timestamp_no_later_than_the_initial_limit()
    {
        var row = Flat();
        WhisperLogitFilters.ApplyTimestampRules(row, [], Special, 50);
        Assert.False(Allowed(row, 100));
        Assert.False(Allowed(row, Special.NoTimestamps));
        Assert.True(Allowed(row, Ts(0.0)));
        Assert.True(Allowed(row, Ts(1.0)));
        Assert.False(Allowed(row, Ts(1.02)));
    }

    [Fact]
    public void After_text_then_timestamp_only_a_timestamp_or_end_may_follow()
    {
        // End of text made likelier than all timestamps together, so that no timestamp is forced.
        var row = Flat();
        row[Special.EndOfText] = 10f;
        WhisperLogitFilters.ApplyTimestampRules(row, [Ts(0), 100, 101, Ts(2.0)], Special, 50);
        Assert.False(Allowed(row, 100));
        Assert.True(Allowed(row, Special.EndOfText));
        Assert.True(Allowed(row, Ts(2.0)), "a start may equal the previous end");
        Assert.False(Allowed(row, Ts(1.98)));
    }

    [Fact]
    public void After_a_timestamp_pair_text_follows_and_time_cannot_go_back()
    {
        var row = Flat();
        WhisperLogitFilters.ApplyTimestampRules(row, [Ts(0), 100, Ts(2.0), Ts(2.0)], Special, 50);
        Assert.True(Allowed(row, 100));
        Assert.False(Allowed(row, Ts(2.0)));
        Assert.False(Allowed(row, Ts(5.0)));

        var afterText = Flat();
        afterText[102] = 10f;
        WhisperLogitFilters.ApplyTimestampRules(afterText, [Ts(0), 100, Ts(2.0), Ts(2.0), 101], Special, 50);
        Assert.False(Allowed(afterText, Ts(2.0)), "timestamps must increase after text");
        Assert.True(Allowed(afterText, Ts(2.02)));
        Assert.True(Allowed(afterText, 102));
    }

    [Fact]
    public void Timestamp_is_forced_when_their_total_probability_beats_every_text_token()
    {
        var row = Flat(textLogit: -5f, timestampLogit: -9f);
        row[100] = 1f;
        WhisperLogitFilters.ApplyTimestampRules(row, [Ts(0), 100], Special, 50);
        Assert.True(Allowed(row, 100), "one text token is likelier than all timestamps together");

        var forced = Flat(textLogit: -5f, timestampLogit: 0f);
        forced[100] = 1f;
        WhisperLogitFilters.ApplyTimestampRules(forced, [Ts(0), 100], Special, 50);
        Assert.False(Allowed(forced, 100));
        Assert.True(Allowed(forced, Ts(3.0)));
    }

    [Fact]
    public void Blank_and_end_are_suppressed_only_at_the_first_sampled_token()
    {
        var row = Flat();
        WhisperLogitFilters.SuppressBlank(row, 0, [220], Special.EndOfText);
        Assert.False(Allowed(row, 220));
        Assert.False(Allowed(row, Special.EndOfText));
        var later = Flat();
        WhisperLogitFilters.SuppressBlank(later, 3, [220], Special.EndOfText);
        Assert.True(Allowed(later, 220));
    }

    [Fact]
    public void Fallback_triggers_on_repetition_or_low_logprob_but_not_on_silence()
    {
        var options = new WhisperDecodingOptions();
        string loop = string.Concat(Enumerable.Repeat("thank you ", 30));
        Assert.True(WhisperTranscriber.CompressionRatio(loop) > 2.4);
        Assert.True(WhisperTranscriber.CompressionRatio("Ask not what your country can do for you.") < 2.4);
        WhisperDecodingResult R(double logprob, double noSpeech, string text) =>
            new([], text, "en", logprob, noSpeech, 0, WhisperTranscriber.CompressionRatio(text));
        Assert.True(WhisperTranscriber.NeedsFallback(R(-0.2, 0.1, loop), options));
        Assert.True(WhisperTranscriber.NeedsFallback(R(-1.5, 0.1, "hello"), options));
        Assert.False(WhisperTranscriber.NeedsFallback(R(-1.5, 0.9, "hello"), options));
        Assert.False(WhisperTranscriber.NeedsFallback(R(-0.3, 0.1, "hello there"), options));
    }

    private static (WhisperTranscriber Transcriber, WhisperPretrained Model) FixtureTranscriber()
    {
        Skip.IfNot(File.Exists(WhisperTokenizerTests.GgmlPath), "whisper fixture not present");
        var pretrained = WhisperPretrained.Load(WhisperTokenizerTests.GgmlPath);
        return (new WhisperTranscriber(pretrained), pretrained);
    }

    private static float[] FixtureAudio()
    {
        using var io = SafeTensorsFile.Open(Path.Combine(WhisperTokenizerTests.FixtureFolder, "io.safetensors"));
        using var audio = io.Read("audio");
        return audio.data<float>().ToArray();
    }

    private static void AssertTimestampGrammar(IReadOnlyList<int> tokens)
    {
        Assert.True(tokens.Count > 0 && Special.IsTimestamp(tokens[0]), "the first token must be a timestamp");
        Assert.InRange(Special.TimestampOf(tokens[0]), 0, 1.0);
        int last = -1;
        for (int i = 0; i < tokens.Count; i++)
        {
            if (!Special.IsTimestamp(tokens[i])) continue;
            bool closesPair = i >= 1 && Special.IsTimestamp(tokens[i - 1]);
            Assert.True(closesPair ? tokens[i] >= last : tokens[i] > last || (i >= 1 && i >= 2 && !Special.IsTimestamp(tokens[i - 1]) && tokens[i] > last), $"timestamp {i} goes back: {string.Join(",", tokens)}");
            if (i >= 2) Assert.False(Special.IsTimestamp(tokens[i - 1]) && Special.IsTimestamp(tokens[i - 2]), $"three timestamps in a row at {i}: {string.Join(",", tokens)}");
            last = tokens[i];
        }
        Assert.DoesNotContain(Special.NoTimestamps, tokens);
    }

    [SkippableTheory]
    [InlineData(null)]
    [InlineData(3)]
    public void Greedy_and_beam_decoding_of_a_real_model_obey_the_timestamp_grammar(int? beams)
    {
        var (transcriber, pretrained) = FixtureTranscriber();
        using var _ = pretrained;
        using var scope = torch.NewDisposeScope();
        using var grad = torch.no_grad();
        var encoded = transcriber.EncodeWindow(pretrained.FrontEnd.Compute(FixtureAudio()));
        var options = new WhisperDecodingOptions { BeamSize = beams, Language = "en" };
        var result = transcriber.DecodeWindow(encoded, [], "en", options, 0);
        AssertTimestampGrammar(result.Tokens);
        Assert.InRange(result.NoSpeechProb, 0, 1);
        Assert.True(result.AverageLogProb <= 0);
        var suppressed = pretrained.Tokenizer.NonSpeechTokens();
        Assert.DoesNotContain(result.Tokens, suppressed.Contains);
    }

    [SkippableFact]
    public void Beam_search_scores_at_least_as_well_as_greedy_without_timestamps()
    {
        var (transcriber, pretrained) = FixtureTranscriber();
        using var _ = pretrained;
        using var scope = torch.NewDisposeScope();
        using var grad = torch.no_grad();
        var encoded = transcriber.EncodeWindow(pretrained.FrontEnd.Compute(FixtureAudio()));
        var greedy = transcriber.DecodeWindow(encoded, [], "en", new WhisperDecodingOptions { BeamSize = null, WithoutTimestamps = true, MaxSampledTokens = 6 }, 0);
        var beam = transcriber.DecodeWindow(encoded, [], "en", new WhisperDecodingOptions { BeamSize = 4, WithoutTimestamps = true, MaxSampledTokens = 6 }, 0);
        Assert.True(beam.AverageLogProb * (beam.Tokens.Count + 1) / Math.Max(1, beam.Tokens.Count)
            >= greedy.AverageLogProb * (greedy.Tokens.Count + 1) / Math.Max(1, greedy.Tokens.Count) - 1e-4,
            $"beam {beam.AverageLogProb} worse than greedy {greedy.AverageLogProb}");
    }

    [SkippableFact]
    public void Transcribe_walks_long_audio_and_detects_a_language()
    {
        var (transcriber, pretrained) = FixtureTranscriber();
        using var _ = pretrained;
        var audio = Enumerable.Repeat(FixtureAudio(), 2).SelectMany(a => a).ToArray();
        var options = new WhisperDecodingOptions { BeamSize = null, Temperatures = [0.0, 1.0], BestOf = 2, InitialPrompt = "Kennedy." };
        var segments = transcriber.Transcribe(audio, options);
        double duration = audio.Length / 16000.0;
        foreach (var s in segments)
        {
            Assert.InRange(s.Start, 0, duration + transcriber.WindowSeconds);
            Assert.True(s.End >= s.Start, $"segment ends before it starts: {s}");
        }
        using var scope = torch.NewDisposeScope();
        var encoded = transcriber.EncodeWindow(pretrained.FrontEnd.Compute(FixtureAudio()));
        var (language, p) = transcriber.DetectLanguage(encoded);
        Assert.Contains(language, WhisperLanguages.Codes);
        Assert.InRange(p, 0, 1);
    }

    [Fact]
    public void Consecutive_timestamps_split_segments_and_a_single_ending_consumes_the_window()
    {
        var tokens = new[] { Ts(0), 100, 101, Ts(1.0), Ts(1.0), 102, Ts(2.5) };
        var tokenizer = new WhisperTokenizer(Enumerable.Range(0, 50257).Select(i => new[] { (byte)(i % 200 + 32) }).ToList(), Special);
        var config = WhisperModelTests.SmallConfig(51865);
        using var model = new WhisperForConditionalGeneration(config);
        using var mel = new LogMelSpectrogram(config.NumMelBins);
        var transcriber = new WhisperTranscriber(model, tokenizer, mel);
        var result = new WhisperDecodingResult(tokens, "", "en", -0.1, 0.01, 0, 1);
        var (segments, consumed) = transcriber.SplitSegments(result, 10.0, 30.0);
        Assert.Equal(2, segments.Count);
        Assert.Equal((10.0, 11.0), (segments[0].Start, segments[0].End));
        Assert.Equal((11.0, 12.5), (segments[1].Start, segments[1].End));
        Assert.Equal(-1, consumed);
        var (open, advance) = transcriber.SplitSegments(result with { Tokens = tokens[..6] }, 0, 30.0);
        Assert.Single(open);
        Assert.Equal(1.0, advance, 6);
    }
}
