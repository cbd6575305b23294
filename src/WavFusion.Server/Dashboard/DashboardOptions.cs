using System.Text.Json.Serialization;
using WavFusion.Server.Hosting;

namespace WavFusion.Server.Dashboard;

/// <summary>
/// The web dashboard (config/server.json "dashboard"). Browsers reach a plaintext server over HTTP/1.1 only, and a
/// plaintext Kestrel endpoint that accepts HTTP/1.1 falls back to it for every connection (without TLS there is no ALPN
/// to choose HTTP/2), which would break gRPC's prior-knowledge HTTP/2. So a plaintext server serves the dashboard on a
/// port of its own; a TLS server serves it on the gRPC port itself (ALPN picks the protocol per connection).
/// </summary>
public sealed record DashboardOptions
{
    /// <summary>Serve the dashboard and its JSON endpoints at all.</summary>
    [JsonPropertyName("enabled")] public bool Enabled { get; init; } = true;

    /// <summary>
    /// HOST:PORT of the dashboard's own endpoint. Null: with TLS the gRPC endpoint itself; in plaintext the gRPC host
    /// with the next port (50052 beside the default 50051; a free port when the gRPC port is 0).
    /// </summary>
    [JsonPropertyName("listen")] public string? Listen { get; init; }

    public void Validate(string source)
    {
        if (Listen is null) return;
        try
        {
            ListenAddress.Parse(Listen);
        }
        catch (FormatException e)
        {
            throw new InvalidDataException($"{source}: dashboard.listen: {e.Message}", e);
        }
    }
}
