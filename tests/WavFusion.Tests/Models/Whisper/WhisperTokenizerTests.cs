using System.Text;
using System.Text.Json;
using TorchSharp;
using WavFusion.Core.Checkpoints;
using WavFusion.Media;
using WavFusion.Models.Whisper;
using WavFusion.Speech.Decoding;
using WavFusion.Speech.Streaming;
using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Whisper;

public sealed class WhisperTokenizerTests
{
    internal static string FixtureFolder => Path.Combine(RepoPaths.ReferenceFixtures, "whisper-tiny-random");
    internal static string GgmlPath => Path.Combine(FixtureFolder, "ggml-model.bin");

    private static readonly Lazy<WhisperTokenizer?> FixtureTokenizer = new(() =>
    {
        if (!File.Exists(GgmlPath)) return null;
        using var file = WhisperGgmlFile.Read(GgmlPath);
        return new WhisperTokenizer(file.Vocabulary, file.SpecialTokens);
    });

    internal static WhisperTokenizer RequireTokenizer()
    {
        Skip.If(FixtureTokenizer.Value is null, $"{GgmlPath} not present");
        return FixtureTokenizer.Value!;
    }

    [SkippableTheory]
    [InlineData("And so my fellow Americans, ask not what your country can do for you.")]
    [InlineData("  Grüße aus Köln — 東京 😀 it's 3.14!\n")]
    [InlineData("")]
    public void Text_round_trips_through_the_tiktoken_vocabulary(string text)
    {
        var tokenizer = RequireTokenizer();
        var ids = tokenizer.Encode(text);
        Assert.Equal(text, tokenizer.Decode(ids));
        Assert.All(ids, id => Assert.InRange(id, 0, tokenizer.Special.EndOfText - 1));
        if (text.Length > 0) Assert.True(ids.Count < Encoding.UTF8.GetByteCount(text), "BPE merged nothing");
    }

    [SkippableFact]
    [Trait("Category", "Parity")]
    public void Fixture_prompt_text_tokens_re_encode_to_the_same_ids()
    {
        var tokenizer = RequireTokenizer();
        using var io = SafeTensorsFile.Open(Path.Combine(FixtureFolder, "io.safetensors"));
        using var idsTensor = io.Read("decoder_input_ids");
        var ids = idsTensor.data<long>().Select(x => (int)x).ToArray();
        var s = tokenizer.Special;
        Assert.Equal(new[] { s.StartOfTranscript, s.Language("en")!.Value, s.Transcribe, s.NoTimestamps }, ids[..4]);
        var text = ids[4..];
        Assert.Equal(text, tokenizer.Encode(tokenizer.Decode(text)));
        Assert.Equal("<|startoftranscript|><|en|><|transcribe|><|notimestamps|>", string.Concat(ids[..4].Select(tokenizer.TokenName)));
    }

    [SkippableFact]
    public void Non_speech_tokens_include_music_notes_and_brackets_but_no_letters()
    {
        var tokenizer = RequireTokenizer();
        var suppressed = tokenizer.NonSpeechTokens();
        Assert.Contains(tokenizer.Encode(" (")[0], suppressed);
        Assert.Contains(tokenizer.Encode("♪")[0], suppressed);
        Assert.DoesNotContain(tokenizer.Encode(" the")[0], suppressed);
        Assert.DoesNotContain(tokenizer.Encode("a")[0], suppressed);
    }

    [SkippableFact]
    public void Hugging_face_folder_loads_with_the_same_vocabulary_as_the_ggml_file()
    {
        var tokenizer = RequireTokenizer();
        using var dir = new TempDir();
        File.Copy(Path.Combine(FixtureFolder, "config.json"), dir.File("config.json"));
        File.Copy(Path.Combine(FixtureFolder, "model.safetensors"), dir.File("model.safetensors"));
        // vocab.json in GPT-2's byte-to-unicode spelling, written from the ggml byte strings.
        var alphabet = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++) alphabet[b] = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF ? (char)b : (char)next++;
        var vocab = new Dictionary<string, int>();
        for (int id = 0; id < tokenizer.TextTokenCount; id++)
        {
            var bytes = tokenizer.Bytes(id).ToArray();
            if (bytes.Length > 0) vocab.TryAdd(new string(bytes.Select(b => alphabet[b]).ToArray()), id);
        }
        vocab["<|endoftext|>"] = tokenizer.Special.EndOfText;
        File.WriteAllText(dir.File("vocab.json"), JsonSerializer.Serialize(vocab));
        File.WriteAllText(dir.File("generation_config.json"), """{"suppress_tokens": [1, 2], "begin_suppress_tokens": [220, 50257]}""");

        using var pretrained = WhisperPretrained.Load(dir.Path);
        const string text = "Ask not what your country can do for you — ¿qué?";
        Assert.Equal(tokenizer.Encode(text), pretrained.Tokenizer.Encode(text));
        Assert.Equal(new[] { 220, 50257 }, pretrained.Generation!.BeginSuppressTokens);
        Assert.Equal(tokenizer.Special, pretrained.Special);
    }

    [SkippableFact]
    public void Ggml_file_loads_as_a_complete_model()
    {
        Skip.IfNot(File.Exists(GgmlPath), $"{GgmlPath} not present");
        using var pretrained = WhisperPretrained.Load(GgmlPath);
        Assert.Equal(pretrained.Model.Config.NumMelBins, pretrained.FrontEnd.MelBins);
        Assert.Equal(50257, pretrained.Tokenizer.TextTokenCount);
    }
}
