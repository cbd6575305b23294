using System.Diagnostics;
using WavFusion.Core.Audio;
using WavFusion.Core.Checkpoints;
using WavFusion.Models.Whisper;

namespace WavFusion.Fuzzing;

public enum FuzzFormat
{
    SafeTensors,
    Torch,
    Ggml,
    Wav,
}

/// <summary>What became of a format's mutants. Examples describe the first failures of each kind, to reproduce them.</summary>
public sealed record FuzzCounts(FuzzFormat Format, int Cases, int Ok, int Rejected, int Crashed, int Hung, int OverAllocated, int Unnamed,
    TimeSpan Elapsed, IReadOnlyList<string> Examples)
{
    /// <summary>Every mutant was read or refused with our error type, naming the file, in time and within its memory allowance.</summary>
    public bool Clean => Crashed == 0 && Hung == 0 && OverAllocated == 0 && Unnamed == 0;
}

/// <summary>
/// Feeds mutants of valid files to the product's readers, one file per case, and sorts the outcomes: read; refused
/// with the reader's own exception (CheckpointException, or InvalidDataException for WAV) naming the file; crashed
/// (any other exception: the reader trusted something it should have checked); hung; or over-allocated (more managed
/// memory than the file's size justifies, i.e. a declared size was believed before it was checked).
/// </summary>
public static class ReaderFuzzer
{
    private const int MaxExamples = 8;

    /// <summary>The allowance per case: a reader may copy the file a few times, plus fixed buffers.</summary>
    public static long AllocationAllowance(long fileBytes) => 4 * fileBytes + (1 << 20);

    public static FuzzCounts Run(FuzzFormat format, int cases, int seed, TimeSpan timeout)
    {
        var scratch = Directory.CreateTempSubdirectory("wavfusion-fuzz-");
        try
        {
            return Run(format, cases, seed, timeout, scratch.FullName);
        }
        finally
        {
            try { scratch.Delete(true); } catch (IOException) { }
        }
    }

    private static FuzzCounts Run(FuzzFormat format, int cases, int seed, TimeSpan timeout, string scratch)
    {
        var random = new Random(HashCode.Combine(seed, (int)format) & int.MaxValue);
        var target = Target(format, scratch, random);
        int ok = 0, rejected = 0, crashed = 0, hung = 0, overAllocated = 0, unnamed = 0;
        var examples = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < cases; i++)
        {
            var (bytes, what) = target.NextMutant();
            string path = Path.Combine(scratch, $"case-{i}.bin");
            File.WriteAllBytes(path, bytes);
            var run = Task.Run(() => RunCase(target.Read, path));
            if (!run.Wait(timeout))
            {
                hung++;
                Note($"hung: {what}");
                continue;
            }
            var (error, allocated) = run.Result;
            TryDelete(path);
            if (allocated > AllocationAllowance(bytes.Length))
            {
                overAllocated++;
                Note($"allocated {allocated:N0} bytes for a {bytes.Length}-byte file: {what} ({error?.GetType().Name}: {error?.Message})");
            }
            if (error is null) ok++;
            else if (!target.IsClean(error))
            {
                crashed++;
                string at = error.StackTrace?.Split('\n', 2)[0].Trim() ?? "";
                if (seen.Add($"{error.GetType().Name} {at}")) Note($"{error.GetType().Name}: {error.Message} [{what}] {at}");
            }
            else if (!error.Message.Contains(path, StringComparison.Ordinal))
            {
                unnamed++;
                Note($"the error does not name the file: {error.Message} [{what}]");
            }
            else rejected++;
        }
        return new FuzzCounts(format, cases, ok, rejected, crashed, hung, overAllocated, unnamed, clock.Elapsed, examples);

        void Note(string example)
        {
            if (examples.Count < MaxExamples) examples.Add(example);
        }
    }

    private static (Exception? Error, long Allocated) RunCase(Action<string> read, string path)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            read(path);
            return (null, GC.GetAllocatedBytesForCurrentThread() - before);
        }
#pragma warning disable CA1031 // Sorting every exception is the point: any type but the reader's own is a finding.
        catch (Exception e)
#pragma warning restore CA1031
        {
            return (e, GC.GetAllocatedBytesForCurrentThread() - before);
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { }
    }

    private sealed record FormatTarget(Func<(byte[] Bytes, string What)> NextMutant, Action<string> Read, Func<Exception, bool> IsClean);

    private static FormatTarget Target(FuzzFormat format, string scratch, Random random)
    {
        static bool IsCheckpointError(Exception e) => e is CheckpointException;
        switch (format)
        {
            case FuzzFormat.SafeTensors:
            {
                var seed = FuzzSeeds.SafeTensors(scratch);
                var mutator = new Mutator(random, ["{"u8.ToArray(), "data_offsets"u8.ToArray(), "shape"u8.ToArray(), "dtype"u8.ToArray()]);
                return new(() => mutator.Mutate(seed), path =>
                {
                    using var file = SafeTensorsFile.Open(path);
                    foreach (var t in file.ReadAll().Values) t.Dispose();
                }, IsCheckpointError);
            }
            case FuzzFormat.Torch:
            {
                var pickle = FuzzSeeds.TorchPickle();
                var zip = FuzzSeeds.TorchZip(pickle);
                var zipMutator = new Mutator(random, ["PK\u0003\u0004"u8.ToArray(), "PK\u0001\u0002"u8.ToArray(), "PK\u0005\u0006"u8.ToArray()]);
                var pickleMutator = new Mutator(random, ["X"u8.ToArray(), "J"u8.ToArray(), "storage"u8.ToArray(), "("u8.ToArray()]);
                // Half the mutants damage the pickle inside an intact zip, since the zip's checks would stop most of them first.
                return new(() =>
                {
                    if (random.Next(2) == 0) return zipMutator.Mutate(zip);
                    var (bytes, what) = pickleMutator.Mutate(pickle);
                    return (FuzzSeeds.TorchZip(bytes), $"data.pkl: {what}");
                }, path =>
                {
                    foreach (var t in TorchPickleReader.Read(path).Values) t.Dispose();
                }, IsCheckpointError);
            }
            case FuzzFormat.Ggml:
            {
                var seed = FuzzSeeds.Ggml();
                var mutator = new Mutator(random, ["lmgg"u8.ToArray(), "encoder."u8.ToArray(), "decoder."u8.ToArray(), "hello"u8.ToArray()]);
                return new(() => mutator.Mutate(seed), path =>
                {
                    using var file = WhisperGgmlFile.Read(path);
                    // A model is built only from hyper-parameters the file's tensors can fill, so lying ones must stop here.
                    using var model = file.CreateModel();
                }, e => e is CheckpointException or InvalidDataException);
            }
            default:
            {
                var seeds = FuzzSeeds.Wav();
                var mutator = new Mutator(random, ["RIFF"u8.ToArray(), "fmt "u8.ToArray(), "data"u8.ToArray(), "LIST"u8.ToArray()]);
                return new(() => mutator.Mutate(seeds[random.Next(seeds.Length)]), path => WavFile.Read(path), e => e is InvalidDataException);
            }
        }
    }
}
