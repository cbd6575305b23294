using Grpc.Core;
using WavFusion.Server.Security;

namespace WavFusion.Server.Streaming;

/// <summary>
/// The streams open in this process: admits a new one within the concurrency limits (UNAVAILABLE beyond them, as the
/// proto says, and while shutting down), and on shutdown cuts the input of those still open after the grace period.
/// </summary>
public sealed class StreamRegistry(LimitOptions limits)
{
    private readonly Dictionary<string, int> _perKey = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _cut = new();
    private TaskCompletionSource _idle = Completed();
    private int _open;
    private bool _draining;

    /// <summary>Fires when the shutdown grace period is over: open streams stop reading, finish what they have, and end.</summary>
    public CancellationToken InputCut => _cut.Token;

    public bool Draining
    {
        get { lock (_gate) return _draining; }
    }

    public int Open
    {
        get { lock (_gate) return _open; }
    }

    /// <summary>A slot for one stream of <paramref name="caller"/>, released when disposed.</summary>
    public IDisposable Admit(Caller caller)
    {
        ArgumentNullException.ThrowIfNull(caller);
        lock (_gate)
        {
            if (_draining) throw new RpcException(new Status(StatusCode.Unavailable, "the server is shutting down; it takes no new streams"));
            if (_open >= limits.MaxStreams)
                throw new RpcException(new Status(StatusCode.Unavailable, $"the server has {limits.MaxStreams} streams open, its limit (limits.max_streams)"));
            _perKey.TryGetValue(caller.Name, out int mine);
            if (mine >= limits.MaxStreamsPerKey)
                throw new RpcException(new Status(StatusCode.Unavailable,
                    $"key '{caller.Name}' has {limits.MaxStreamsPerKey} streams open, its limit (limits.max_streams_per_key)"));
            _perKey[caller.Name] = mine + 1;
            if (_open++ == 0) _idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return new Slot(this, caller.Name);
        }
    }

    /// <summary>Refuses new streams from now on.</summary>
    public void BeginDrain()
    {
        lock (_gate) _draining = true;
    }

    /// <summary>Cuts the input of every open stream (the grace period is over).</summary>
    public void CutInput() => _cut.Cancel();

    /// <summary>Completes when no stream is open.</summary>
    public Task WhenIdle
    {
        get { lock (_gate) return _idle.Task; }
    }

    private void Release(string key)
    {
        TaskCompletionSource? idle = null;
        lock (_gate)
        {
            if (--_perKey[key] == 0) _perKey.Remove(key);
            if (--_open == 0) idle = _idle;
        }
        idle?.TrySetResult();
    }

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        done.SetResult();
        return done;
    }

    private sealed class Slot(StreamRegistry registry, string key) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) registry.Release(key);
        }
    }
}
