using WavFusion.Server;
using WavFusion.Server.Hosting;
using WavFusion.Server.Security;
using WavFusion.Server.Streaming;
using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Server;

/// <summary>The server's configuration, keys file and listen address: what ships loads, and what is wrong is named.</summary>
public sealed class ServerConfigTests
{
    [Fact]
    public void The_shipped_server_config_loads_with_the_documented_defaults()
    {
        var options = ServerOptions.Load(Path.Combine(RepoPaths.Root, "config", "server.json"));
        Assert.Equal(new LimitOptions(), options.Limits);
        Assert.False(options.Retention.StoreMedia);
        Assert.Equal([Api.V1.ChannelRole.Types.Role.Customer], options.RolePolicy.AnalysedRoles);
        Assert.Null(options.Tls.Certificate);
        // One server needs no NATS: the bus is in process unless the config says nats; no /metrics unless asked.
        Assert.Equal(new BusOptions(), options.Bus);
        Assert.Equal(BusOptions.InProcess, options.Bus.Kind);
        Assert.Null(options.Metrics.Listen);
    }

    [Theory]
    [InlineData("""{"limits":{"max_stream_secs":10}}""", "max_stream_secs")]
    [InlineData("""{"limits":{"max_streams":0}}""", "limits.max_streams must be positive")]
    [InlineData("""{"role_policy":{"analysed_roles":["customer","agent"]}}""", "may not contain agent")]
    [InlineData("""{"role_policy":{"analysed_roles":["boss"]}}""", "analysed_roles")]
    [InlineData("""{"retention":{"store_media":true,"media_folder":""}}""", "retention.store_media needs retention.media_folder")]
    [InlineData("""{"colour":1}""", "unknown field 'colour'")]
    [InlineData("""{"bus":{"kind":"kafka"}}""", "bus.kind must be inprocess or nats")]
    [InlineData("""{"bus":{"kind":"nats","subject_prefix":"a.b"}}""", "bus.subject_prefix 'a.b' must be one subject token")]
    [InlineData("""{"bus":{"kind":"nats","heartbeat_seconds":5,"session_ttl_seconds":6}}""", "bus.session_ttl_seconds must be at least twice bus.heartbeat_seconds")]
    [InlineData("""{"bus":{"kind":"nats","buffer_messages":0}}""", "bus.buffer_messages must be positive")]
    [InlineData("""{"bus":{"kind":"nats","credentials_file":"missing.creds"}}""", "bus.credentials_file missing.creds not found")]
    [InlineData("""{"bus":{"kind":"nats","jetstream":{"enabled":true,"storage":"tape"}}}""", "bus.jetstream.storage must be file or memory")]
    [InlineData("""{"bus":{"kind":"nats","jetstream":{"enabled":true,"max_age_minutes":0}}}""", "bus.jetstream.max_age_minutes must be positive")]
    [InlineData("""{"bus":{"kind":"nats","replica_id":"a b"}}""", "bus.replica_id 'a b'")]
    [InlineData("""{"metrics":{"listen":"everywhere"}}""", "metrics.listen")]
    public void A_bad_server_config_names_the_file_and_the_field(string json, string expected)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("server.json"), json);
        var e = Assert.Throws<InvalidDataException>(() => ServerOptions.Load(dir.File("server.json")));
        Assert.StartsWith(dir.File("server.json"), e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Keys_are_found_by_their_value_and_errors_name_the_entry_never_the_key()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("keys.json"), """{"keys":[{"name":"a","key":"aaaaaaaaaaaaaaaa","rights":["push"]},{"name":"b","key":"bbbbbbbbbbbbbbbb","rights":["watch","push"]}]}""");
        var keys = ApiKeySet.Load(dir.File("keys.json"));
        Assert.Equal(new Caller("a", Rights.Push), keys.Find("aaaaaaaaaaaaaaaa"));
        Assert.Equal(new Caller("b", Rights.Push | Rights.Watch), keys.Find("bbbbbbbbbbbbbbbb"));
        Assert.Null(keys.Find("aaaaaaaaaaaaaaab"));
        Assert.Null(keys.Find(""));
        Assert.Null(keys.Find(null));

        foreach (var (json, expected) in new[]
                 {
                     ("""{"keys":[{"name":"short","key":"secret-short","rights":["push"]}]}""", "key 'short': the key must have at least 16 characters"),
                     ("""{"keys":[{"name":"x","key":"secret-0123456789","rights":["admin"]}]}""", "key 'x': unknown right 'admin'"),
                     ("""{"keys":[{"name":"x","key":"secret-0123456789","rights":[]}]}""", "key 'x' has no rights"),
                     ("""{"keys":[{"name":"x","key":"secret-0123456789","rights":["push"]},{"name":"y","key":"secret-0123456789","rights":["push"]}]}""", "key 'y' has the same key"),
                     ("""{"keys":[{"name":"x","key":"secret-0123456789","rights":["push"]},{"name":"x","key":"secret-9876543210","rights":["push"]}]}""", "key 'x' appears twice"),
                     ("""{"keys":[]}""", "no keys"),
                 })
        {
            File.WriteAllText(dir.File("bad.json"), json);
            var e = Assert.Throws<InvalidDataException>(() => ApiKeySet.Load(dir.File("bad.json")));
            Assert.Contains(expected, e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("secret", e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("127.0.0.1:50051", true, 50051)]
    [InlineData("localhost:0", true, 0)]
    [InlineData("[::1]:7000", true, 7000)]
    [InlineData("0.0.0.0:50051", false, 50051)]
    public void Listen_addresses_parse_and_know_whether_they_are_loopback(string text, bool loopback, int port)
    {
        var address = ListenAddress.Parse(text);
        Assert.Equal(loopback, address.IsLoopback);
        Assert.Equal(port, address.Port);
    }

    [Theory]
    [InlineData("50051")]
    [InlineData("example.com:50051")]
    [InlineData("127.0.0.1:70000")]
    public void A_bad_listen_address_is_refused(string text) => Assert.Throws<FormatException>(() => ListenAddress.Parse(text));

    [Fact]
    public void An_open_server_or_a_plaintext_one_is_refused_off_loopback()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("keys.json"), """{"keys":[{"name":"a","key":"aaaaaaaaaaaaaaaa","rights":["push"]}]}""");
        var keys = ApiKeySet.Load(dir.File("keys.json"));
        var remote = ListenAddress.Parse("0.0.0.0:50051");
        var open = Assert.Throws<InvalidOperationException>(() => ServerHost.CheckExposure(remote, null, new ServerOptions()));
        Assert.Contains("loopback only", open.Message, StringComparison.Ordinal);
        var plain = Assert.Throws<InvalidOperationException>(() => ServerHost.CheckExposure(remote, keys, new ServerOptions()));
        Assert.Contains("tls.certificate", plain.Message, StringComparison.Ordinal);
        ServerHost.CheckExposure(remote, keys, new ServerOptions { Tls = new TlsOptions { AllowPlaintextRemote = true } });
        ServerHost.CheckExposure(ListenAddress.Parse("127.0.0.1:1"), null, new ServerOptions());
    }

    [Fact]
    public void A_jpeg_header_gives_the_frame_size_before_decoding()
    {
        byte[] sof = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x01, 0xE0, 0x02, 0x80, 0x03];
        Assert.Equal((640, 480), PushVideoSource.JpegSize(sof));
        Assert.Null(PushVideoSource.JpegSize([0x89, 0x50, 0x4E, 0x47]));
        Assert.Null(PushVideoSource.JpegSize(sof[..10]));
    }
}
