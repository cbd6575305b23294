using System.Diagnostics;

namespace WavFusion.Core.Quantization;

/// <summary>
/// One parallel piece of work: <see cref="Run"/> is called once for every index in [0, <see cref="Count"/>). A job
/// object runs once: a worker that saw it late may still touch its counters, so reusing it could lose a completion.
/// </summary>
public abstract class KernelJob
{
    internal int Next;
    internal int Done;
    internal Exception? Error;

    public int Count { get; internal set; }

    public abstract void Run(int index);
}

/// <summary>
/// A fork-join pool for the packed-weight kernels: the calling thread and <c>threads − 1</c> dedicated workers share
/// a job's indices. A decoding step calls some forty kernels of 10-500 µs each with libtorch operators between them,
/// so waking pool threads through the .NET thread pool (tens of µs a time) would cost as much as the kernels save.
/// Workers instead spin on a generation counter for <see cref="SpinMicroseconds"/> after each job, yielding the CPU
/// between checks, so libtorch's OpenMP threads (which spin briefly too, see OpenMpWaitPolicy) still get the cores
/// when they need them, and then sleep. One job runs at a time; a caller that finds the pool busy (another session's
/// decoder) runs its job alone on its own thread rather than waiting, so the cores are never oversubscribed by
/// this pool.
/// </summary>
public sealed class KernelThreads : IDisposable
{
    /// <summary>Environment variable that sets the pool's thread count (including the caller); default: the core count.</summary>
    public const string ThreadsVariable = "WAVFUSION_KERNEL_THREADS";

    /// <summary>Environment variable that sets how long idle workers spin, in µs (experiments; default <see cref="DefaultSpinMicroseconds"/>).</summary>
    public const string SpinVariable = "WAVFUSION_KERNEL_SPIN_US";

    public const double DefaultSpinMicroseconds = 50;

    private static readonly object SharedGate = new();
    private static KernelThreads? _shared;

    /// <summary>The process's pool, sized to the cores (or <see cref="ThreadsVariable"/>, or <see cref="UseSharedThreads"/>).</summary>
    public static KernelThreads Shared
    {
        get
        {
            if (Volatile.Read(ref _shared) is { } pool) return pool;
            lock (SharedGate) return _shared ??= new KernelThreads(DefaultThreads(), SpinFromEnvironment());
        }
    }

    /// <summary>
    /// Resizes the shared pool to <paramref name="threads"/> (an application's <c>--threads</c>, so that our kernels
    /// and libtorch use as many cores as asked). Call it before decoding starts; the old pool's workers stop.
    /// </summary>
    public static void UseSharedThreads(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        lock (SharedGate)
        {
            if (_shared?.Threads == threads) return;
            var old = _shared;
            _shared = new KernelThreads(threads, SpinFromEnvironment());
            old?.Dispose();
        }
    }

    private static double SpinFromEnvironment() =>
        double.TryParse(Environment.GetEnvironmentVariable(SpinVariable), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double us) && us >= 0
            ? us
            : DefaultSpinMicroseconds;

    private readonly Thread[] _workers;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly object _gate = new();
    private readonly long _spinTicks;
    private KernelJob? _job;
    private int _generation;
    private int _sleepers;
    private volatile bool _disposed;

    public KernelThreads(int threads, double spinMicroseconds = DefaultSpinMicroseconds)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Threads = threads;
        SpinMicroseconds = spinMicroseconds;
        _spinTicks = (long)(spinMicroseconds * Stopwatch.Frequency / 1e6);
        _workers = new Thread[threads - 1];
        for (int i = 0; i < _workers.Length; i++)
        {
            _workers[i] = new Thread(Work) { IsBackground = true, Name = $"wavfusion-kernel-{i + 1}" };
            _workers[i].Start();
        }
    }

    /// <summary>Threads a job runs on, the caller included.</summary>
    public int Threads { get; }

    /// <summary>How long an idle worker keeps checking for the next job before it sleeps.</summary>
    public double SpinMicroseconds { get; }

    private static int DefaultThreads()
    {
        string? value = Environment.GetEnvironmentVariable(ThreadsVariable);
        if (string.IsNullOrWhiteSpace(value)) return Environment.ProcessorCount;
        return int.TryParse(value, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int n) && n >= 1 && n <= 1024
            ? n
            : throw new InvalidOperationException($"{ThreadsVariable}: '{value}' is not a thread count (1..1024)");
    }

    /// <summary>Runs every index of <paramref name="job"/>, on this thread and the workers; rethrows the first failure.</summary>
    public void Run(KernelJob job, int count)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (job.Count != 0 || job.Next != 0) throw new InvalidOperationException("a kernel job runs once; make a new one");
        if (count <= 0) return;
        job.Count = count;
        if (count == 1 || _workers.Length == 0 || !Monitor.TryEnter(_gate))
        {
            for (int i = 0; i < count; i++) job.Run(i);
            return;
        }
        try
        {
            Volatile.Write(ref _job, job);
            Interlocked.Increment(ref _generation);
            int sleepers = Volatile.Read(ref _sleepers);
            if (sleepers > 0) _wake.Release(Math.Min(sleepers, _workers.Length));
            Execute(job);
            var spin = new SpinWait();
            while (Volatile.Read(ref job.Done) < count) spin.SpinOnce(sleep1Threshold: -1);
            Volatile.Write(ref _job, null);
        }
        finally
        {
            Monitor.Exit(_gate);
        }
        if (job.Error is { } error) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(error).Throw();
    }

    private static void Execute(KernelJob job)
    {
        int i;
        while ((i = Interlocked.Increment(ref job.Next) - 1) < job.Count)
        {
            try
            {
                job.Run(i);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref job.Error, e, null);
            }
            Interlocked.Increment(ref job.Done);
        }
    }

    private void Work()
    {
        int seen = Volatile.Read(ref _generation);
        while (!_disposed)
        {
            long start = Stopwatch.GetTimestamp();
            int generation;
            int checks = 0;
            while ((generation = Volatile.Read(ref _generation)) == seen)
            {
                if (_disposed) return;
                if (++checks % 64 == 0)
                {
                    if (Stopwatch.GetTimestamp() - start > _spinTicks) break;
                    Thread.Yield();
                }
                else Thread.SpinWait(8);
            }
            if (generation == seen)
            {
                Interlocked.Increment(ref _sleepers);
                if (Volatile.Read(ref _generation) == seen) _wake.Wait();
                Interlocked.Decrement(ref _sleepers);
                continue;
            }
            seen = generation;
            if (Volatile.Read(ref _job) is { } job) Execute(job);
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _wake.Release(_workers.Length);
        foreach (var w in _workers) w.Join();
        _wake.Dispose();
    }
}
