using System.Runtime.InteropServices;
using TorchSharp;

namespace WavFusion.Core.Runtime;

/// <summary>
/// Limits the OpenMP team of libtorch operators started from the calling thread only, by setting that thread's
/// OpenMP <c>nthreads-var</c> (what libtorch's parallel_for reads through omp_get_max_threads) and MKL's
/// per-thread count (its GEMMs), while other threads keep theirs. <c>torch.set_num_threads</c> cannot do this: it also changes the process-wide
/// default that every thread starting its first operator afterwards adopts.
/// </summary>
/// <remarks>
/// A packed-weight decoding step runs its weight products on <see cref="Quantization.KernelThreads"/> and between
/// them some hundred libtorch operators on vectors of a few hundred values. Splitting those over OpenMP threads
/// gains little and makes every operator wait for a thread that our pool (or another process) may be holding: on a
/// busy 2-core machine Whisper-base int8 decoding took 16-20 ms a token with a 2-thread team and 8-10 ms with the
/// step's operators on its own thread. Found by scanning /proc/self/maps for the libgomp that libtorch loaded
/// (its file name carries a build hash); where there is none (Windows, macOS, another OpenMP runtime) the scope
/// does nothing.
/// </remarks>
public static unsafe class OpenMpThreads
{
    internal sealed class Api(nint set, nint get, nint mklSetLocal)
    {
        public readonly delegate* unmanaged<int, void> SetNumThreads = (delegate* unmanaged<int, void>)set;
        public readonly delegate* unmanaged<int> GetMaxThreads = (delegate* unmanaged<int>)get;
        /// <summary>
        /// MKL's per-thread count (libtorch sets it beside the OpenMP one); returns the previous, 0 = none. The exported
        /// name is an alias of MKL's Fortran entry point, which takes the count by reference.
        /// </summary>
        private readonly delegate* unmanaged<int*, int> _mklSetNumThreadsLocal = (delegate* unmanaged<int*, int>)mklSetLocal;

        public int MklSetNumThreadsLocal(int threads) => _mklSetNumThreadsLocal is null ? 0 : _mklSetNumThreadsLocal(&threads);
    }

    private static readonly Lazy<Api?> Gomp = new(Find);

    /// <summary>Whether this process's libtorch runs on a libgomp whose per-thread team size this class can set.</summary>
    public static bool Available => Gomp.Value is not null;

    /// <summary>
    /// Until the returned scope is disposed, libtorch operators started from this thread use at most
    /// <paramref name="threads"/> OpenMP threads; disposing restores the thread's previous setting.
    /// </summary>
    public static Scope Limit(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        // libtorch sets a thread's team size on that thread's first parallel operator; asking for it does that first,
        // so the setting below is not overwritten later.
        int previous = torch.get_num_threads();
        return previous <= threads ? default : Set(threads, previous);
    }

    /// <summary>
    /// Until the returned scope is disposed, libtorch operators started from this thread use <paramref name="threads"/>
    /// OpenMP threads (more or fewer than now): to widen one operator again inside a <see cref="Limit"/> scope.
    /// </summary>
    public static Scope Use(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        int previous = torch.get_num_threads();
        return previous == threads ? default : Set(threads, previous);
    }

    private static Scope Set(int threads, int previous)
    {
        var api = Gomp.Value;
        if (api is null) return default;
        api.SetNumThreads(threads);
        int previousMkl = api.MklSetNumThreadsLocal(threads);
        return new Scope(api, previous, previousMkl);
    }

    public readonly struct Scope : IDisposable
    {
        private readonly Api? _api;
        private readonly int _previous;
        private readonly int _previousMkl;

        internal Scope(Api api, int previous, int previousMkl)
        {
            _api = api;
            _previous = previous;
            _previousMkl = previousMkl;
        }

        public void Dispose()
        {
            if (_api is null) return;
            _api.SetNumThreads(_previous);
            _api.MklSetNumThreadsLocal(_previousMkl);
        }
    }

    private static Api? Find()
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            var mapped = File.ReadLines("/proc/self/maps")
                .Select(l => l.IndexOf('/') is int i and >= 0 ? l[i..] : null)
                .Where(p => p is not null).Select(p => p!).Distinct().ToList();
            string? torchDir = mapped.Where(p => Path.GetFileName(p).StartsWith("libtorch_cpu", StringComparison.Ordinal))
                .Select(Path.GetDirectoryName).FirstOrDefault();
            var gomp = mapped.Where(p => Path.GetFileName(p).StartsWith("libgomp", StringComparison.Ordinal)).ToList();
            string? path = gomp.FirstOrDefault(p => Path.GetDirectoryName(p) == torchDir) ?? (gomp.Count == 1 ? gomp[0] : null);
            if (path is null) return null;
            // The library is already loaded, so this returns its handle and loads nothing new.
            var handle = NativeLibrary.Load(path);
            if (!NativeLibrary.TryGetExport(handle, "omp_set_num_threads", out var set)
                || !NativeLibrary.TryGetExport(handle, "omp_get_max_threads", out var get))
                return null;
            // libtorch links MKL statically and exports its API; its GEMMs keep their own per-thread count.
            nint mkl = 0;
            string? torchCpu = mapped.FirstOrDefault(p => Path.GetFileName(p).StartsWith("libtorch_cpu", StringComparison.Ordinal));
            if (torchCpu is not null) NativeLibrary.TryGetExport(NativeLibrary.Load(torchCpu), "mkl_set_num_threads_local", out mkl);
            return new Api(set, get, mkl);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or DllNotFoundException or BadImageFormatException)
        {
            return null;
        }
    }

    /// <summary>This thread's OpenMP team size as libgomp reports it (-1 where unavailable): for tests.</summary>
    public static int CurrentLimit => Gomp.Value is { } api ? api.GetMaxThreads() : -1;
}
