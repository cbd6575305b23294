using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using WavFusion.Cli.Bench;
using WavFusion.Client;
using WavFusion.Tests.Infrastructure;
using Xunit.Abstractions;

namespace WavFusion.Tests.Server.Dashboard;

/// <summary>Under TLS one port serves both: ALPN gives a browser HTTP/1.1 for the dashboard and a gRPC client HTTP/2.</summary>
public sealed class DashboardTlsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_TLS_server_serves_the_dashboard_over_HTTP_1_1_and_gRPC_over_HTTP_2_on_one_port()
    {
        using var dir = new TempDir();
        using (var key = RSA.Create(2048))
        {
            var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var names = new SubjectAlternativeNameBuilder();
            names.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(names.Build());
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            File.WriteAllBytes(dir.File("server.pfx"), certificate.Export(X509ContentType.Pfx));
        }
        File.WriteAllText(dir.File("server.json"), """{ "tls": { "certificate": "server.pfx" } }""");

        await using var server = await ServerProcess.StartAsync("dotnet", [ProcessRunner.CliDll],
            ["--listen", "127.0.0.1:0", "--config", dir.File("server.json")], TimeSpan.FromMinutes(2));
        output.WriteLine($"gRPC {server.GrpcUrl}, dashboard {server.DashboardUrl}");
        Assert.Equal("https", server.GrpcUrl.Scheme);
        Assert.NotNull(server.DashboardUrl);
        Assert.Equal(server.GrpcUrl.Authority, server.DashboardUrl.Authority);

        // The certificate is the test's own, self-signed: these clients trust it, and nothing else does.
        static SocketsHttpHandler Trusting() => new() { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } };
        using var browser = new HttpClient(Trusting());
        using var page = await browser.SendAsync(new HttpRequestMessage(HttpMethod.Get, server.DashboardUrl)
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        });
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal(HttpVersion.Version11, page.Version);
        Assert.Contains("app.js", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var grpc = new WavFusionClient(server.GrpcUrl, apiKey: null, Trusting());
        Assert.Empty(await grpc.ListSessionsAsync());
    }
}
