using System.Globalization;
using System.Net;

namespace WavFusion.Server.Hosting;

/// <summary>A <c>HOST:PORT</c> to listen on: an IPv4 or bracketed IPv6 address, or <c>localhost</c>; port 0 picks a free one.</summary>
public sealed record ListenAddress(IPAddress Address, int Port, string Text)
{
    public const string Default = "127.0.0.1:50051";

    public bool IsLoopback => IPAddress.IsLoopback(Address);

    /// <summary>Parses <paramref name="text"/>; a bad value is a <see cref="FormatException"/> naming it.</summary>
    public static ListenAddress Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1) throw new FormatException($"'{text}' is not HOST:PORT");
        string host = text[..colon];
        if (!int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535)
            throw new FormatException($"'{text}': the port is not a number from 0 to 65535");
        if (host.StartsWith('[') && host.EndsWith(']')) host = host[1..^1];
        // localhost is bound as 127.0.0.1: one address, and a free port (0) can be picked on it.
        var address = string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
            : IPAddress.TryParse(host, out var ip) ? ip
            : throw new FormatException($"'{text}': '{host}' is not an IP address or localhost (host names are not resolved)");
        return new ListenAddress(address, port, text);
    }

    public override string ToString() => Text;
}
