using System.Collections.Concurrent;
using System.Threading.Channels;
using WavFusion.Inference;
using WavFusion.Live.Pipeline;

namespace WavFusion.Live.Batching;

/// <summary>
/// One model instance shared by every session: windows from all streams queue here, and one loop forms
/// micro-batches of up to <see cref="BatcherOptions.MaxBatch"/> windows, waiting at most
/// <see cref="BatcherOptions.MaxWaitMs"/> after the first for company. The scorer groups a batch by window length
/// and modality subset, so windows are never padded with fake modalities or extra samples.
/// </summary>
public sealed class InferenceBatcher : IAsyncDisposable
{
    private readonly WindowScorer _scorer;
    private readonly BatcherOptions _options;
    private readonly Channel<Request> _requests;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly ConcurrentDictionary<int, long> _batchSizes = new();

    public InferenceBatcher(WindowScorer scorer, BatcherOptions options)
    {
        ArgumentNullException.ThrowIfNull(scorer);
        ArgumentNullException.ThrowIfNull(options);
        _scorer = scorer;
        _options = options;
        // Sessions push here: bounded, and a full queue makes them wait (backpressure), never drop.
        _requests = Channel.CreateBounded<Request>(new BoundedChannelOptions(Math.Max(4 * options.MaxBatch, 64))
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        _loop = Task.Factory.StartNew(() => RunAsync(_stop.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    /// <summary>How many batches of each size the batcher formed (counted in windows scored together).</summary>
    public IReadOnlyDictionary<int, long> BatchSizes => _batchSizes;

    public WindowScorer Scorer => _scorer;

    /// <summary>Scores several windows of one session together (they join whatever batch forms).</summary>
    public async Task<IReadOnlyList<WindowScore>> ScoreAsync(IReadOnlyList<ScoringWindow> windows, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(windows);
        var pending = new List<Task<WindowScore>>(windows.Count);
        foreach (var window in windows)
        {
            var request = new Request(window, new TaskCompletionSource<WindowScore>(TaskCreationOptions.RunContinuationsAsynchronously));
            await _requests.Writer.WriteAsync(request, cancellationToken).ConfigureAwait(false);
            pending.Add(request.Result.Task);
        }
        return await Task.WhenAll(pending).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var batch = new List<Request>(_options.MaxBatch);
        try
        {
            while (await _requests.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                batch.Clear();
                while (batch.Count < _options.MaxBatch && _requests.Reader.TryRead(out var first)) batch.Add(first);
                if (batch.Count < _options.MaxBatch && _options.MaxWaitMs > 0)
                {
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    wait.CancelAfter(_options.MaxWaitMs);
                    try
                    {
                        while (batch.Count < _options.MaxBatch && await _requests.Reader.WaitToReadAsync(wait.Token).ConfigureAwait(false))
                            while (batch.Count < _options.MaxBatch && _requests.Reader.TryRead(out var more)) batch.Add(more);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        // The wait for company is over; score what there is.
                    }
                }
                Score(batch);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            while (_requests.Reader.TryRead(out var left)) left.Result.TrySetCanceled(cancellationToken);
        }
    }

    private void Score(List<Request> batch)
    {
        if (batch.Count == 0) return;
        _batchSizes.AddOrUpdate(batch.Count, 1, (_, n) => n + 1);
        try
        {
            // Each window's result goes out as soon as its group is scored (shortest audio first), not when the whole batch is.
            _scorer.Score(batch.Select(r => r.Window).ToList(), (i, score) => batch[i].Result.TrySetResult(score));
        }
#pragma warning disable CA1031 // the loop serves every session: whatever one window throws goes back to its caller, never ends the loop
        catch (Exception)
        {
            // One bad window must not take the batch down: score the rest alone, fail only the bad one.
            foreach (var request in batch)
            {
                try { request.Result.TrySetResult(_scorer.Score([request.Window])[0]); }
                catch (Exception single)
                {
                    request.Result.TrySetException(single);
                }
            }
        }
#pragma warning restore CA1031
    }

    /// <summary>Takes no more windows, scores those already queued, and stops the loop.</summary>
    public async ValueTask DisposeAsync()
    {
        _requests.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    private sealed record Request(ScoringWindow Window, TaskCompletionSource<WindowScore> Result);
}
