using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using WavFusion.Server.Hosting;
using WavFusion.Server.Security;

namespace WavFusion.Server.Dashboard;

/// <summary>
/// The live web dashboard of `wavfusion serve`: where it listens (<see cref="DashboardOptions"/> says why a plaintext
/// server gives it a port of its own), its page, and its JSON endpoints (<see cref="DashboardApi"/>). ServerHost adds it
/// to the builder and maps it; everything else about it lives in this folder.
/// </summary>
public sealed class DashboardSite
{
    /// <summary>Where the page is, under the server's root.</summary>
    public const string PagePath = "/dashboard/";

    private readonly bool _tls;
    private ListenOptions? _endpoint;
    private Func<IEnumerable<string>>? _serverAddresses;

    private DashboardSite(bool tls, ListenAddress? own)
    {
        _tls = tls;
        OwnAddress = own;
    }

    /// <summary>The dashboard's own endpoint; null when it is served on the gRPC endpoint (TLS).</summary>
    public ListenAddress? OwnAddress { get; }

    /// <summary>
    /// Adds the dashboard to <paramref name="builder"/> (its own Kestrel endpoint when it needs one) and returns it, or
    /// null when the configuration disables it. Refuses a dashboard address that would expose an open server or send
    /// keys in clear off loopback, under the same rules as the gRPC endpoint.
    /// </summary>
    public static DashboardSite? Add(WebApplicationBuilder builder, ServerSetup setup, X509Certificate2? certificate)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(setup);
        var options = setup.Options.Dashboard;
        if (!options.Enabled) return null;
        var own = OwnAddressFor(setup.Listen, options, tls: certificate is not null);
        if (own is not null) CheckExposure(own, setup.Keys, setup.Options);
        var site = new DashboardSite(certificate is not null, own);
        if (own is not null)
        {
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(own.Address, own.Port, listen =>
            {
                if (certificate is null)
                {
                    listen.Protocols = HttpProtocols.Http1;
                }
                else
                {
                    listen.Protocols = HttpProtocols.Http1AndHttp2;
                    listen.UseHttps(certificate);
                }
                site._endpoint = listen;
            }));
        }
        builder.Services.AddSingleton(site);
        return site;
    }

    /// <summary>The dashboard's own address for <paramref name="grpc"/>, or null to serve it on the gRPC endpoint.</summary>
    public static ListenAddress? OwnAddressFor(ListenAddress grpc, DashboardOptions options, bool tls)
    {
        ArgumentNullException.ThrowIfNull(grpc);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Listen is null)
        {
            if (tls) return null;
            if (grpc.Port == 65535)
                throw new InvalidOperationException($"--listen {grpc}: the dashboard's default port (the next one) does not exist; set dashboard.listen in the server config");
            int port = grpc.Port == 0 ? 0 : grpc.Port + 1;
            string host = grpc.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{grpc.Address}]" : grpc.Address.ToString();
            return ListenAddress.Parse($"{host}:{port.ToString(CultureInfo.InvariantCulture)}");
        }
        var own = ListenAddress.Parse(options.Listen);
        bool same = own.Port != 0 && own.Port == grpc.Port && own.Address.Equals(grpc.Address);
        if (same && tls) return null;
        if (same)
            throw new InvalidOperationException(
                $"dashboard.listen {own} is the gRPC endpoint: without TLS the dashboard (HTTP/1.1) needs a port of its own");
        return own;
    }

    internal static void CheckExposure(ListenAddress own, ApiKeySet? keys, ServerOptions options)
    {
        if (own.IsLoopback) return;
        if (keys is null)
            throw new InvalidOperationException(
                $"dashboard.listen {own}: without an API keys file (--api-keys) the dashboard listens on loopback only");
        if (options.Tls.Certificate is null && !options.Tls.AllowPlaintextRemote)
            throw new InvalidOperationException(
                $"dashboard.listen {own}: plaintext off loopback would send watch keys in clear; set tls.certificate in the server config (or tls.allow_plaintext_remote behind a TLS proxy)");
    }

    /// <summary>Maps the page and the JSON endpoints on <paramref name="app"/>.</summary>
    public void Map(WebApplication app, ApiKeySet? keys)
    {
        ArgumentNullException.ThrowIfNull(app);
        _serverAddresses = () =>
            app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
                .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses ?? [];
        var api = new DashboardApi(app.Services, keys);
        api.Map(app);
        DashboardPage.Map(app);
    }

    /// <summary>Whether <paramref name="address"/> (one the server listens on) is the dashboard's own endpoint.</summary>
    public bool IsOwnAddress(string address) =>
        _endpoint?.IPEndPoint is { } ip && Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Port == ip.Port;

    /// <summary>The page's URL once the server listens (a wildcard address is printed as it was given).</summary>
    public string? Url
    {
        get
        {
            if (_endpoint is { } endpoint)
            {
                var ip = endpoint.IPEndPoint;
                if (ip is null) return null;
                string host = ip.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip.Address}]" : ip.Address.ToString();
                return $"{(_tls ? "https" : "http")}://{host}:{ip.Port.ToString(CultureInfo.InvariantCulture)}{PagePath}";
            }
            // Served on the gRPC endpoint (TLS): its only address.
            var address = _serverAddresses?.Invoke().FirstOrDefault();
            return address is null ? null : address.TrimEnd('/') + PagePath;
        }
    }
}
