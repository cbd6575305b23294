using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace WavFusion.Server.Dashboard;

/// <summary>
/// The dashboard's page: plain HTML, JavaScript and CSS embedded in this assembly (Dashboard/wwwroot), so a published
/// server carries it and a browser needs nothing from outside (no CDN, no framework: it works offline). The page holds
/// no key: the watch key is typed into it and kept in the tab's sessionStorage at most. A strict content security
/// policy keeps the page to its own scripts and to this server.
/// </summary>
internal static class DashboardPage
{
    private const string ResourcePrefix = "dashboard/";

    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private sealed record Asset(byte[] Content, string ContentType, string ETag);

    private static readonly Lazy<FrozenDictionary<string, Asset>> Assets = new(Load);

    /// <summary>The file names the page is made of (tests check each is served).</summary>
    public static IEnumerable<string> Files => Assets.Value.Keys;

    public static void Map(WebApplication app)
    {
        app.MapGet("/", Redirect);
        app.MapGet(DashboardSite.PagePath + "{file?}", ServeAsync);
    }

    private static Task Redirect(HttpContext http)
    {
        http.Response.Redirect(DashboardSite.PagePath);
        return Task.CompletedTask;
    }

    private static async Task ServeAsync(HttpContext http)
    {
        string? file = http.Request.RouteValues["file"] as string;
        // Routing ignores a trailing slash, but the page's relative links need it.
        if (file is null && !http.Request.Path.Value!.EndsWith('/'))
        {
            await Redirect(http).ConfigureAwait(false);
            return;
        }
        string name = file ?? "index.html";
        if (!Assets.Value.TryGetValue(name, out var asset))
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        // Revalidated every time, so a restarted server with a newer page is never hidden behind a cached one.
        headers.CacheControl = "no-cache";
        headers.ETag = asset.ETag;
        if (http.Request.Headers.IfNoneMatch == asset.ETag)
        {
            http.Response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }
        http.Response.ContentType = asset.ContentType;
        http.Response.ContentLength = asset.Content.Length;
        await http.Response.Body.WriteAsync(asset.Content, http.RequestAborted).ConfigureAwait(false);
    }

    private static FrozenDictionary<string, Asset> Load()
    {
        var assembly = typeof(DashboardPage).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var content = buffer.ToArray();
            string name = resource[ResourcePrefix.Length..];
            string etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(content).AsSpan(0, 8)) + "\"";
            assets[name] = new Asset(content, ContentTypeOf(name), etag);
        }
        if (!assets.ContainsKey("index.html")) throw new InvalidOperationException("the dashboard's page is not embedded in WavFusion.Server (Dashboard/wwwroot)");
        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ContentTypeOf(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };
}
