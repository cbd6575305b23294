using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace WavFusion.Server.Hosting;

/// <summary>
/// A Prometheus text endpoint, <c>GET /metrics</c> over HTTP/1.1 on its own address (config <c>metrics.listen</c>): the
/// gRPC endpoint speaks HTTP/2 only, which Prometheus does not. It exposes the gauges an autoscaler scales on (active
/// sessions, open streams, capacity) and the hub's counters (bus published, dropped, lost). No key is needed: it shows
/// counts only, never a session's label or content; bind it where only the scraper reaches.
/// </summary>
public sealed class MetricsEndpoint
{
    private const string ConnectionTag = "wavfusion.metrics";

    private ListenOptions? _endpoint;

    private MetricsEndpoint()
    {
    }

    /// <summary>Adds the metrics listener to Kestrel (HTTP/1.1, tagged so /metrics answers there alone), or null without <c>metrics.listen</c>.</summary>
    public static MetricsEndpoint? Add(WebApplicationBuilder builder, ServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Metrics.Listen is null) return null;
        var address = ListenAddress.Parse(options.Metrics.Listen);
        var endpoint = new MetricsEndpoint();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(address.Address, address.Port, listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            listen.Use(next => connection =>
            {
                connection.Items[ConnectionTag] = true;
                return next(connection);
            });
            endpoint._endpoint = listen;
        }));
        builder.Services.AddSingleton(endpoint);
        return endpoint;
    }

    /// <summary>Whether <paramref name="address"/> (one the server listens on) is this endpoint.</summary>
    public bool IsOwnAddress(string address) =>
        _endpoint?.IPEndPoint is { } ip && Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Port == ip.Port;

    /// <summary>http://host:port/metrics once the server listens.</summary>
    public string? Url => _endpoint?.IPEndPoint is { } ip
        ? $"http://{(ip.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip.Address}]" : ip.Address.ToString())}:{ip.Port.ToString(CultureInfo.InvariantCulture)}/metrics"
        : null;

    public void Map(IEndpointRouteBuilder endpoints, ServerContext server)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(server);
        endpoints.MapGet("/metrics", async context =>
        {
            if (context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(ConnectionTag) != true)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await context.Response.WriteAsync(Render(server), context.RequestAborted).ConfigureAwait(false);
        });
    }

    /// <summary>The samples in Prometheus's text exposition format.</summary>
    public static string Render(ServerContext server)
    {
        ArgumentNullException.ThrowIfNull(server);
        var text = new StringBuilder();
        void Add(string name, string help, string type, double value)
        {
            text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            text.Append(name).Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
        }
        foreach (var m in server.Hub.Metrics()) Add(m.Name, m.Help, m.Type, m.Value);
        Add("wavfusion_open_streams", "StreamingRecognize and Recognize calls open on this replica.", "gauge", server.Streams.Open);
        Add("wavfusion_max_streams", "The replica's stream limit (limits.max_streams): capacity for autoscaling targets.", "gauge", server.Options.Limits.MaxStreams);
        Add("wavfusion_draining", "1 while the replica shuts down and takes no new streams.", "gauge", server.Streams.Draining ? 1 : 0);
        return text.ToString();
    }
}
