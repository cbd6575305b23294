namespace WavFusion.GcHammer;

/// <summary>
/// A background thread that collects garbage and runs finalizers back to back, so that any object whose finalizer
/// frees native memory is freed as soon as it becomes unreachable — while native code may still be using that memory.
/// It turns the rare crash of issue 11 (a finalised temporary TorchSharp Scalar) into a likely one. Meaningful only
/// with <c>DOTNET_TieredCompilation=0</c>: tier-0 code keeps locals alive to the end of the method and hides the bug.
/// </summary>
public static class GcHammer
{
    private static readonly Lock Gate = new();
    private static Thread? _thread;
    private static volatile bool _stopping;
    private static long _cycles;

    /// <summary>Completed collect-and-finalise cycles since the process started.</summary>
    public static long Cycles => Interlocked.Read(ref _cycles);

    public static bool Running
    {
        get
        {
            lock (Gate) return _thread is not null;
        }
    }

    public static void Start()
    {
        lock (Gate)
        {
            if (_thread is not null) return;
            _stopping = false;
            _thread = new Thread(Hammer) { IsBackground = true, Name = "GC hammer" };
            _thread.Start();
        }
    }

    public static void Stop()
    {
        Thread? thread;
        lock (Gate)
        {
            thread = _thread;
            _thread = null;
            _stopping = true;
        }
        thread?.Join();
    }

    private static void Hammer()
    {
        while (!_stopping)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            Interlocked.Increment(ref _cycles);
        }
    }
}
