using Grpc.Core;
using WavFusion.Api.V1;
using WavFusion.Live.Pipeline;
using Role = WavFusion.Api.V1.ChannelRole.Types.Role;

namespace WavFusion.Server.Streaming;

/// <summary>
/// A stream's config, checked: the audio format, every channel's role, the channels recognised, the caller's window
/// choices and what else it will send. Built once from the first message; a config the server cannot honour is
/// INVALID_ARGUMENT with a message naming the field.
/// </summary>
public sealed record StreamPlan(
    string Label,
    AudioFormat.Types.Encoding Encoding,
    int SampleRate,
    int Channels,
    IReadOnlyList<Role> Roles,
    IReadOnlyList<uint> AnalysedChannels,
    WindowOptions? Windows,
    bool InterimResults,
    bool SendVideo,
    bool ClientTranscripts)
{
    public const int MaxChannels = 8;
    public const int MaxSampleRate = 384_000;
    public const int MinWindowMs = 500;
    public const int MaxWindowMs = 30_000;

    public int BytesPerSample => Encoding == AudioFormat.Types.Encoding.Linear16 ? 2 : 4;

    public int BytesPerFrame => BytesPerSample * Channels;

    /// <summary>Checks <paramref name="config"/> against the proto's rules and the server's role policy.</summary>
    public static StreamPlan From(StreamConfig config, RolePolicyOptions policy, WindowOptions serverWindows)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(serverWindows);
        var format = config.AudioFormat ?? throw Invalid("config.audio_format is missing");
        if (format.Encoding is not (AudioFormat.Types.Encoding.Linear16 or AudioFormat.Types.Encoding.Float32))
            throw Invalid($"config.audio_format.encoding {format.Encoding} is not LINEAR16 or FLOAT32");
        if (format.SampleRateHz == 0 || format.SampleRateHz > MaxSampleRate)
            throw Invalid($"config.audio_format.sample_rate_hz {format.SampleRateHz} is not between 1 and {MaxSampleRate}");
        int channels = format.ChannelCount == 0 ? 1 : (int)Math.Min(format.ChannelCount, int.MaxValue);
        if (channels > MaxChannels) throw Invalid($"config.audio_format.channel_count {format.ChannelCount} is above {MaxChannels}");

        var roles = new Role?[channels];
        foreach (var entry in config.Channels)
        {
            if (entry.Channel >= channels) throw Invalid($"config.channels: channel {entry.Channel} is not below channel_count {channels}");
            if (roles[entry.Channel] is not null) throw Invalid($"config.channels: channel {entry.Channel} has two roles");
            if (entry.Role is not (Role.Customer or Role.Agent or Role.Other))
                throw Invalid($"config.channels: channel {entry.Channel} has role {entry.Role}; roles are CUSTOMER, AGENT or OTHER");
            roles[entry.Channel] = entry.Role;
        }
        if (channels == 1) roles[0] ??= policy.MonoDefaultRole;
        for (int c = 0; c < channels; c++)
            if (roles[c] is null)
                throw Invalid($"config.channels: channel {c} of {channels} has no role; a multi-channel stream names every channel's role, so an agent is never analysed by mistake");
        var resolved = roles.Select(r => r!.Value).ToList();
        // AGENT is never analysed, whatever the policy says (the policy refuses it at load too).
        var analysed = Enumerable.Range(0, channels)
            .Where(c => resolved[c] != Role.Agent && policy.AnalysedRoles.Contains(resolved[c]))
            .Select(c => (uint)c).ToList();

        WindowOptions? windows = null;
        if (config.WindowMs != 0 || config.HopMs != 0)
        {
            int window = config.WindowMs == 0 ? serverWindows.WindowMs : (int)Math.Min(config.WindowMs, int.MaxValue);
            int hop = config.HopMs == 0 ? serverWindows.HopMs : (int)Math.Min(config.HopMs, int.MaxValue);
            if (window is < MinWindowMs or > MaxWindowMs) throw Invalid($"config.window_ms {config.WindowMs} is not between {MinWindowMs} and {MaxWindowMs}");
            if (hop < 1 || hop > window) throw Invalid($"config.hop_ms {config.HopMs} is not between 1 and the window ({window} ms)");
            windows = serverWindows with { WindowMs = window, HopMs = hop };
        }
        return new StreamPlan(config.SessionLabel, format.Encoding, (int)format.SampleRateHz, channels, resolved, analysed, windows,
            config.InterimResults, config.SendVideo, config.ClientTranscripts);
    }

    /// <summary>The channel that video and transcripts without a channel go with: the first analysed one.</summary>
    public uint? PrimaryChannel => AnalysedChannels.Count == 0 ? null : AnalysedChannels[0];

    public IEnumerable<ChannelRole> ChannelRoles => Roles.Select((r, c) => new ChannelRole { Channel = (uint)c, Role = r });

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
