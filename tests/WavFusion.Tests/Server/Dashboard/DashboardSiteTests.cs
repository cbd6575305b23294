using WavFusion.Server;
using WavFusion.Server.Dashboard;
using WavFusion.Server.Hosting;
using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Server.Dashboard;

/// <summary>Where the dashboard listens: its own HTTP/1.1 port in plaintext, the gRPC port under TLS, and the exposure rules.</summary>
public sealed class DashboardSiteTests
{
    private static readonly DashboardOptions Default = new();

    [Theory]
    [InlineData("127.0.0.1:50051", "127.0.0.1:50052")]
    [InlineData("127.0.0.1:0", "127.0.0.1:0")]
    [InlineData("[::1]:7000", "[::1]:7001")]
    public void A_plaintext_server_gives_the_dashboard_the_next_port_by_default(string grpc, string expected)
    {
        var own = DashboardSite.OwnAddressFor(ListenAddress.Parse(grpc), Default, tls: false);
        Assert.NotNull(own);
        Assert.Equal(ListenAddress.Parse(expected).Address, own.Address);
        Assert.Equal(ListenAddress.Parse(expected).Port, own.Port);
    }

    [Fact]
    public void A_TLS_server_serves_the_dashboard_on_the_gRPC_port_unless_told_otherwise()
    {
        var grpc = ListenAddress.Parse("0.0.0.0:443");
        Assert.Null(DashboardSite.OwnAddressFor(grpc, Default, tls: true));
        Assert.Null(DashboardSite.OwnAddressFor(grpc, new DashboardOptions { Listen = "0.0.0.0:443" }, tls: true));
        Assert.Equal(8443, DashboardSite.OwnAddressFor(grpc, new DashboardOptions { Listen = "0.0.0.0:8443" }, tls: true)!.Port);
    }

    [Fact]
    public void A_plaintext_dashboard_cannot_share_the_gRPC_port_or_go_past_the_last_one()
    {
        var same = Assert.Throws<InvalidOperationException>(() =>
            DashboardSite.OwnAddressFor(ListenAddress.Parse("127.0.0.1:6000"), new DashboardOptions { Listen = "127.0.0.1:6000" }, tls: false));
        Assert.Contains("dashboard.listen 127.0.0.1:6000", same.Message, StringComparison.Ordinal);
        var last = Assert.Throws<InvalidOperationException>(() => DashboardSite.OwnAddressFor(ListenAddress.Parse("127.0.0.1:65535"), Default, tls: false));
        Assert.Contains("dashboard.listen", last.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Off_loopback_the_dashboard_needs_keys_and_TLS_like_the_gRPC_endpoint()
    {
        var remote = ListenAddress.Parse("0.0.0.0:8080");
        var open = Assert.Throws<InvalidOperationException>(() => DashboardSite.CheckExposure(remote, keys: null, new ServerOptions()));
        Assert.Contains("loopback only", open.Message, StringComparison.Ordinal);
        var keys = InMemoryServer.Keys();
        var clear = Assert.Throws<InvalidOperationException>(() => DashboardSite.CheckExposure(remote, keys, new ServerOptions()));
        Assert.Contains("tls.certificate", clear.Message, StringComparison.Ordinal);
        DashboardSite.CheckExposure(remote, keys, new ServerOptions { Tls = new TlsOptions { AllowPlaintextRemote = true } });
        DashboardSite.CheckExposure(ListenAddress.Parse("127.0.0.1:8080"), keys: null, new ServerOptions());
    }

    [Fact]
    public void The_shipped_config_enables_the_dashboard_and_a_bad_address_names_the_field()
    {
        var shipped = ServerOptions.Load(Path.Combine(RepoPaths.Root, "config", "server.json"));
        Assert.True(shipped.Dashboard.Enabled);
        Assert.Null(shipped.Dashboard.Listen);

        using var dir = new TempDir();
        File.WriteAllText(dir.File("server.json"), """{ "dashboard": { "listen": "example.org:80" } }""");
        var e = Assert.Throws<InvalidDataException>(() => ServerOptions.Load(dir.File("server.json")));
        Assert.Contains("dashboard.listen", e.Message, StringComparison.Ordinal);
        Assert.Contains("server.json", e.Message, StringComparison.Ordinal);
    }
}
