using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;

namespace WavFusion.Server.Sessions.Bus;

/// <summary>
/// What a replica sends to NATS, decoupled from whoever produced it: producers write into a bounded queue and never
/// wait; one loop publishes. While NATS is unreachable the loop drops what it takes (NATS.Net would otherwise hold a
/// publish until it reconnects), and when the queue is full a producer's message is dropped at once; both are counted,
/// per session and in all. Order is kept: one queue, one publisher, one connection.
/// </summary>
public sealed class BusOutbox : IAsyncDisposable
{
    private readonly NatsConnection _nats;
    private readonly ILogger _log;
    private readonly Channel<Outgoing> _queue;
    private readonly Task _loop;
    private long _published;
    private long _dropped;

    public BusOutbox(NatsConnection nats, int capacity, ILogger log)
    {
        _nats = nats;
        _log = log;
        _queue = Channel.CreateBounded<Outgoing>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true },
            Drop);
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Messages handed to NATS.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Messages dropped: the queue full, or NATS unreachable.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Messages waiting now.</summary>
    public int Pending => _queue.Reader.Count;

    /// <summary>Queues a message; never waits. A full queue drops it (counted on <paramref name="counter"/> too).</summary>
    public void Send(string subject, byte[] payload, NatsHeaders headers, DropCounter? counter = null) =>
        _queue.Writer.TryWrite(new Outgoing(subject, payload, headers, counter));

    /// <summary>Waits until what is queued now has been published or dropped, at most <paramref name="timeout"/>.</summary>
    public async Task FlushAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (_queue.Reader.Count > 0 && DateTime.UtcNow < deadline) await Task.Delay(10).ConfigureAwait(false);
    }

    private void Drop(Outgoing message)
    {
        Interlocked.Increment(ref _dropped);
        message.Counter?.Add();
    }

    private async Task RunAsync()
    {
        var serializer = NatsRawSerializer<byte[]>.Default;
        bool warned = false;
        await foreach (var message in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (_nats.ConnectionState != NatsConnectionState.Open)
            {
                Drop(message);
                if (!warned) _log.LogWarning("bus: NATS unreachable; events meant for other replicas are dropped (counted) until it returns");
                warned = true;
                continue;
            }
            try
            {
                await _nats.PublishAsync(message.Subject, message.Payload, message.Headers, serializer: serializer).ConfigureAwait(false);
                Interlocked.Increment(ref _published);
                warned = false;
            }
#pragma warning disable CA1031 // a failed publish (the connection broke under it) is a dropped message; the loop goes on
            catch (Exception e)
#pragma warning restore CA1031
            {
                Drop(message);
                if (!warned) _log.LogWarning("bus: publishing failed ({Reason}); dropping events for the bus until NATS answers", e.Message);
                warned = true;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    private sealed record Outgoing(string Subject, byte[] Payload, NatsHeaders Headers, DropCounter? Counter);
}

/// <summary>A count of one session's messages that did not reach the bus.</summary>
public sealed class DropCounter
{
    private long _count;

    public long Count => Interlocked.Read(ref _count);

    public void Add() => Interlocked.Increment(ref _count);
}
