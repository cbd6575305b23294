using System.Diagnostics;
using System.Globalization;
using WavFusion.Core.Audio;
using WavFusion.Training.Data;

namespace WavFusion.Training.SynthEmo;

public sealed record SynthEmoOptions
{
    public int Items { get; init; } = 1000;

    public int Seed { get; init; }

    /// <summary>Face frames are FrameSize × FrameSize pixels.</summary>
    public int FrameSize { get; init; } = 64;

    /// <summary>
    /// Face frames per item, spread evenly over the utterance (10 is 5 fps for a 2 s utterance). Fixed rather than
    /// per second so the number of frames does not reveal the speech rate; the manifest's fps is the resulting rate.
    /// </summary>
    public int FramesPerItem { get; init; } = 10;

    /// <summary>espeak-ng processes run at once; by default one per core.</summary>
    public int Parallelism { get; init; } = Environment.ProcessorCount;

    public double TrainFraction { get; init; } = 0.7;

    public double ValidationFraction { get; init; } = 0.15;

    public string EspeakPath { get; init; } = "espeak-ng";

    public const int SampleRate = 16000;
}

/// <summary>
/// Generates SynthEmo (see <see cref="SynthEmoDesign"/> for the confusion design). Everything about item i is a
/// function of (seed, i): the plan (class, masking, split) is drawn once from the seed, and each item draws its
/// speaker, sentence, prosody and face from its own generator, so items can be rendered in any order and in
/// parallel and still give byte-identical files and manifest.
/// </summary>
public static class SynthEmoGenerator
{
    public static LoadedCorpus Generate(string outDir, SynthEmoOptions options, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Items < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Items, "SynthEmo needs at least one item");
        if (options.FrameSize < 16) throw new ArgumentOutOfRangeException(nameof(options), options.FrameSize, "frame size must be at least 16 pixels");
        if (options.FramesPerItem < 1) throw new ArgumentOutOfRangeException(nameof(options), options.FramesPerItem, "at least one face frame per item");
        CheckEspeak(options.EspeakPath);

        Directory.CreateDirectory(Path.Combine(outDir, "audio"));
        Directory.CreateDirectory(Path.Combine(outDir, "faces"));
        var plan = Plan(options);
        var entries = new SynthEmoEntry[options.Items];
        int done = 0;
        Parallel.For(0, options.Items, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Parallelism), CancellationToken = cancellationToken }, i =>
        {
            entries[i] = Render(outDir, options, i, plan[i]);
            progress?.Report(Interlocked.Increment(ref done));
        });

        var info = new SynthEmoInfo(SynthEmoDesign.CorpusName, SynthEmoDesign.Version, options.Seed, options.Items,
            [.. SynthEmoDesign.Classes.Select(c => c.Name)], SynthEmoOptions.SampleRate, options.FrameSize, options.FramesPerItem);
        SynthEmoManifest.Write(outDir, info, entries);
        return SynthEmoManifest.Load(outDir);
    }

    internal readonly record struct PlannedItem(int ClassIndex, Masking Masking, DataSplit Split);

    /// <summary>Balanced classes in a seeded order; masking cycles per class; splits drawn per class (stratified).</summary>
    internal static PlannedItem[] Plan(SynthEmoOptions options)
    {
        int n = options.Items, classes = SynthEmoDesign.Classes.Count;
        var rng = SplitMix64.For(options.Seed, stream: 0, index: 0);
        var classOf = Enumerable.Range(0, n).Select(i => i % classes).ToArray();
        rng.Shuffle(classOf);
        var masking = new Masking[n];
        var split = new DataSplit[n];
        for (int c = 0; c < classes; c++)
        {
            var members = Enumerable.Range(0, n).Where(i => classOf[i] == c).ToList();
            for (int k = 0; k < members.Count; k++) masking[members[k]] = SynthEmoDesign.MaskCycle[k % SynthEmoDesign.MaskCycle.Count];
            rng.Shuffle(members);
            var (nVal, nTest) = SplitCounts(members.Count, options);
            for (int k = 0; k < members.Count; k++)
                split[members[k]] = k < nTest ? DataSplit.Test : k < nTest + nVal ? DataSplit.Validation : DataSplit.Train;
        }
        return [.. Enumerable.Range(0, n).Select(i => new PlannedItem(classOf[i], masking[i], split[i]))];
    }

    private static (int Validation, int Test) SplitCounts(int count, SynthEmoOptions o)
    {
        double testFraction = 1 - o.TrainFraction - o.ValidationFraction;
        int val = (int)Math.Round(o.ValidationFraction * count), test = (int)Math.Round(testFraction * count);
        // Every class appears in every held-out split once there are enough items for it.
        if (count >= 3) { val = Math.Max(val, 1); test = Math.Max(test, 1); }
        else if (count == 2) { val = 0; test = 1; }
        else { val = 0; test = 0; }
        return (val, test);
    }

    private static SynthEmoEntry Render(string outDir, SynthEmoOptions options, int index, PlannedItem planned)
    {
        var cls = SynthEmoDesign.Classes[planned.ClassIndex];
        var rng = SplitMix64.For(options.Seed, stream: 1, index);
        string id = $"synth_{index:000000}";
        int speaker = rng.Next(SynthEmoDesign.Voices.Count);

        var wording = planned.Masking == Masking.PlainWording ? WordingGroup.Plain : cls.Wording;
        string text = SynthEmoTexts.Sentence(wording, rng);

        var p = SynthEmoDesign.Prosody(cls.Prosody);
        int rate = p.Rate + (int)Math.Round(p.RateJitter * rng.Symmetric());
        int pitch = Math.Clamp(p.Pitch + (int)Math.Round(p.PitchJitter * rng.Symmetric()), 0, 99);
        int amplitude = p.Amplitude + (int)Math.Round(p.AmplitudeJitter * rng.Symmetric());
        string[] espeakArgs = ["-v", SynthEmoDesign.Voices[speaker], "-s", Int(rate), "-p", Int(pitch), "-a", Int(amplitude), "-g", Int(p.WordGap)];
        var speech = Speak(options.EspeakPath, espeakArgs, text, id);
        var samples = Resampler.Resample(speech.Samples, speech.SampleRate, SynthEmoOptions.SampleRate);
        var clip = new AudioClip(samples, SynthEmoOptions.SampleRate);
        string audioRel = Path.Combine("audio", id + ".wav");
        WavFile.Write(Path.Combine(outDir, audioRel), clip);

        var face = SynthEmoDesign.Face(planned.Masking == Masking.PokerFace ? FaceGroup.Plain : cls.Face);
        double curve = face.MouthCurve + 0.15 * rng.Symmetric();
        double tilt = face.BrowTilt + 0.15 * rng.Symmetric();
        double eyes = face.EyeOpen + 0.08 * rng.Symmetric();
        // A fixed number of frames spread over the utterance, and lip opening relative to the item's own loudest
        // moment: otherwise frame count (duration) and lip opening (loudness) would carry the prosody group into the
        // face and break the face's designed ambiguity.
        int frameCount = options.FramesPerItem;
        var envelope = Enumerable.Range(0, frameCount).Select(f => Envelope(samples, (f + 0.5) / frameCount * clip.DurationSeconds)).ToArray();
        double loudest = Math.Max(envelope.Max(), 1e-6);
        var frames = new List<byte[]>(frameCount);
        double dx = 2 * rng.Symmetric(), dy = 2 * rng.Symmetric();
        for (int f = 0; f < frameCount; f++)
        {
            bool blink = rng.NextDouble() < 0.12;
            dx = Math.Clamp(dx + 0.6 * rng.Symmetric(), -3, 3);
            dy = Math.Clamp(dy + 0.6 * rng.Symmetric(), -3, 3);
            var pose = new FacePose(curve, tilt, blink ? 0.05 : eyes, 0.9 * envelope[f] / loudest, dx, dy, speaker);
            frames.Add(FaceRenderer.Render(options.FrameSize, pose));
        }
        string framesRel = Path.Combine("faces", id + ".png");
        FrameStrip.Write(Path.Combine(outDir, framesRel), frames, options.FrameSize);

        return new SynthEmoEntry(id, SynthEmoManifest.SplitName(planned.Split), cls.Name, planned.ClassIndex, text,
            audioRel.Replace('\\', '/'), framesRel.Replace('\\', '/'), frameCount, options.FrameSize, Math.Round(frameCount / clip.DurationSeconds, 4),
            Math.Round(clip.DurationSeconds, 4), $"speaker{speaker}", planned.Masking switch
            {
                Masking.PlainWording => "plain_wording",
                Masking.PokerFace => "poker_face",
                _ => "none",
            }, string.Join(' ', espeakArgs));
    }

    /// <summary>RMS of the speech within 0.1 s of time t: the lips move with the voice, as in real video.</summary>
    private static double Envelope(float[] samples, double t)
    {
        int centre = (int)(t * SynthEmoOptions.SampleRate), half = SynthEmoOptions.SampleRate / 10;
        int from = Math.Max(0, centre - half), to = Math.Min(samples.Length, centre + half);
        if (to <= from) return 0;
        double energy = 0;
        for (int i = from; i < to; i++) energy += samples[i] * (double)samples[i];
        return Math.Sqrt(energy / (to - from));
    }

    private static AudioClip Speak(string espeak, string[] args, string text, string id)
    {
        var psi = new ProcessStartInfo(espeak) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("--stdout");
        foreach (string a in args) psi.ArgumentList.Add(a);
        // "--" keeps a sentence that starts with '-' from being read as an option.
        psi.ArgumentList.Add("--");
        psi.ArgumentList.Add(text);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"{espeak} did not start");
        var stderr = process.StandardError.ReadToEndAsync();
        using var wav = new MemoryStream();
        process.StandardOutput.BaseStream.CopyTo(wav);
        process.WaitForExit();
        if (process.ExitCode != 0 || wav.Length <= 44)
            throw new InvalidOperationException($"{id}: {espeak} {string.Join(' ', args)} failed (exit {process.ExitCode}): {stderr.Result.Trim()}");
        return WavFile.Parse(wav.GetBuffer().AsSpan(0, (int)wav.Length), $"{id} (espeak-ng output)");
    }

    private static void CheckEspeak(string espeak)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(espeak, "--version") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false });
            p?.WaitForExit();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"SynthEmo speaks with espeak-ng, which is not on PATH ({espeak}): scripts/install-system-deps.sh installs it. {e.Message}", e);
        }
    }

    private static string Int(int v) => v.ToString(CultureInfo.InvariantCulture);
}
