using System.Text.Json.Serialization;
using System.Threading.Channels;

namespace WavFusion.Live.Pipeline;

/// <summary>What a full channel does with a new item.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FullMode>))]
public enum FullMode
{
    /// <summary>Capture paths: the oldest item is dropped (and counted) so capture never blocks.</summary>
    [JsonStringEnumMemberName("drop_oldest")] DropOldest,
    /// <summary>Push paths: the writer waits (backpressure).</summary>
    [JsonStringEnumMemberName("wait")] Wait,
}

/// <summary>One channel's policy, named in config/live.json next to the others.</summary>
public sealed record ChannelPolicy
{
    [JsonPropertyName("capacity")] public int Capacity { get; init; } = 64;
    [JsonPropertyName("full_mode")] public FullMode FullMode { get; init; } = FullMode.Wait;

    /// <summary>A bounded channel with this policy whose drops are counted.</summary>
    public CountedChannel<T> Create<T>(string name) => new(name, this);
}

/// <summary>A bounded channel and the number of items its policy dropped.</summary>
public sealed class CountedChannel<T>
{
    private long _dropped;

    public CountedChannel(string name, ChannelPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (policy.Capacity <= 0) throw new ArgumentOutOfRangeException(nameof(policy), policy.Capacity, $"channel '{name}': capacity must be positive");
        Name = name;
        Policy = policy;
        var options = new BoundedChannelOptions(policy.Capacity)
        {
            FullMode = policy.FullMode == FullMode.DropOldest ? BoundedChannelFullMode.DropOldest : BoundedChannelFullMode.Wait,
            SingleReader = true,
        };
        Channel = System.Threading.Channels.Channel.CreateBounded<T>(options, _ => Interlocked.Increment(ref _dropped));
    }

    public string Name { get; }

    public ChannelPolicy Policy { get; }

    public Channel<T> Channel { get; }

    public ChannelReader<T> Reader => Channel.Reader;

    public ChannelWriter<T> Writer => Channel.Writer;

    /// <summary>Items the policy dropped so far.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);
}
