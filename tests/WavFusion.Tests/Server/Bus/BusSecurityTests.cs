using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.NKeys;
using WavFusion.Api.V1;
using WavFusion.Server;
using WavFusion.Server.Sessions.Bus;
using WavFusion.Tests.Infrastructure;

namespace WavFusion.Tests.Server.Bus;

/// <summary>
/// The bus's credentials and TLS against a real nats-server that demands them: user/password and token in bus.url,
/// bus.nkey_file (an NKey user), bus.credentials_file (a .creds file, NATS in operator/JWT mode, the JWTs signed here
/// with NATS.NKeys), bus.tls (a private CA made here, and a client certificate where NATS verifies clients). Each is
/// honoured (two replicas' hubs see each other's sessions through it) and a wrong or missing one is refused: the
/// start-up probe says Refused with the reason and no secret, and a hub keeps trying without stalling its producers.
/// </summary>
public sealed class BusSecurityTests
{
    private static BusOptions Bus(string url, string replica = "probe") => new()
    {
        Kind = BusOptions.Nats,
        Url = url,
        ReplicaId = replica,
        HeartbeatSeconds = 0.25,
        SessionTtlSeconds = 5,
        ReconnectSeconds = 0.2,
    };

    /// <summary>Two hubs with <paramref name="bus"/>'s settings: a session opened on one is listed by the other.</summary>
    private static async Task AssertReplicasShareSessionsAsync(BusOptions bus, string output)
    {
        await using var a = new NatsSessionHub(new ServerOptions { Bus = bus with { ReplicaId = "secure-a" } }, NullLoggerFactory.Instance);
        await using var b = new NatsSessionHub(new ServerOptions { Bus = bus with { ReplicaId = "secure-b" } }, NullLoggerFactory.Instance);
        Assert.True(await a.WaitConnectedAsync(TimeSpan.FromSeconds(30)) && await b.WaitConnectedAsync(TimeSpan.FromSeconds(30)), output);
        await using var session = await a.OpenAsync(new SessionInfo { SessionId = "s-secure", SessionLabel = "secure" }, CancellationToken.None);
        await StreamingRecognizeTests.WaitUntilAsync(() => b.ListAsync(CancellationToken.None).AsTask().Result.Any(s => s.SessionId == "s-secure" && s.ReplicaId == "secure-a"), 30);
    }

    private static async Task<BusProbe> AssertRefusedAsync(BusOptions bus, string because, params string[] secrets)
    {
        var probe = await NatsSessionHub.ProbeAsync(bus, TimeSpan.FromSeconds(5));
        Console.WriteLine($"{because}: {probe.State}: {probe.Reason}");
        Assert.Equal(BusReachability.Refused, probe.State);
        Assert.NotNull(probe.Reason);
        Assert.DoesNotContain('\n', probe.Reason);
        foreach (var secret in secrets) Assert.DoesNotContain(secret, probe.Reason, StringComparison.Ordinal);
        return probe;
    }

    [SkippableFact]
    public async Task User_password_and_token_in_bus_url_are_honoured_and_wrong_ones_refused_without_showing_the_secret()
    {
        Skip.If(NatsServerProcess.Find() is null, NatsServerProcess.Missing);
        int port = NatsServerProcess.FreePort();
        await using (var nats = await NatsServerProcess.StartWithAsync(port, jetStream: false, "--user", "replica", "--pass", "right-pass-123"))
        {
            var good = Bus($"nats://replica:right-pass-123@127.0.0.1:{port}");
            Assert.Equal(BusReachability.Connected, (await NatsSessionHub.ProbeAsync(good, TimeSpan.FromSeconds(5))).State);
            await AssertReplicasShareSessionsAsync(good, nats.Output);

            var wrong = Bus($"nats://replica:wrong-pass-456@127.0.0.1:{port}");
            Assert.Equal($"nats://replica:***@127.0.0.1:{port}", wrong.RedactedUrl);
            var refused = await AssertRefusedAsync(wrong, "a wrong password", "wrong-pass-456");
            Assert.Contains("authorization violation", refused.Reason, StringComparison.Ordinal);
            await AssertRefusedAsync(Bus($"nats://127.0.0.1:{port}"), "no credentials");

            // A running replica with the wrong password keeps trying and never stalls a producer: the bus is down (0 in
            // /metrics) and what was meant for it is dropped and counted.
            await using var hub = new NatsSessionHub(new ServerOptions { Bus = wrong }, NullLoggerFactory.Instance);
            Assert.False(await hub.WaitConnectedAsync(TimeSpan.FromSeconds(2)));
            await using (var session = await hub.OpenAsync(new SessionInfo { SessionId = "s-refused" }, CancellationToken.None))
            {
                for (int i = 0; i < 100; i++) session.Publish(new StreamingRecognizeResponse { SessionId = "s-refused", SpeechEvent = new SpeechEvent { OffsetMs = i } });
            }
            var metrics = hub.Metrics().ToDictionary(m => m.Name, m => m.Value);
            Assert.Equal(0, metrics["wavfusion_bus_connected"]);
            await StreamingRecognizeTests.WaitUntilAsync(() => hub.Metrics().Single(m => m.Name == "wavfusion_bus_dropped_total").Value >= 100, 30);
        }

        port = NatsServerProcess.FreePort();
        await using (var nats = await NatsServerProcess.StartWithAsync(port, jetStream: false, "--auth", "t0ken-abcdef"))
        {
            var good = Bus($"nats://t0ken-abcdef@127.0.0.1:{port}");
            Assert.Equal(BusReachability.Connected, (await NatsSessionHub.ProbeAsync(good, TimeSpan.FromSeconds(5))).State);
            await AssertReplicasShareSessionsAsync(good, nats.Output);
            var wrong = Bus($"nats://wr0ng-token@127.0.0.1:{port}");
            Assert.Equal($"nats://***@127.0.0.1:{port}", wrong.RedactedUrl);
            await AssertRefusedAsync(wrong, "a wrong token", "wr0ng-token");
        }

        // Nobody listening: not refused but unreachable (serve starts and connects when NATS comes).
        var down = await NatsSessionHub.ProbeAsync(Bus($"nats://127.0.0.1:{NatsServerProcess.FreePort()}"), TimeSpan.FromSeconds(2));
        Console.WriteLine($"nothing listening: {down.State}: {down.Reason}");
        Assert.Equal(BusReachability.Unreachable, down.State);
    }

    [SkippableFact]
    public async Task An_NKey_user_is_honoured_and_another_seed_refused()
    {
        Skip.If(NatsServerProcess.Find() is null, NatsServerProcess.Missing);
        using var dir = new TempDir();
        using var user = KeyPair.CreatePair(PrefixByte.User);
        using var stranger = KeyPair.CreatePair(PrefixByte.User);
        File.WriteAllText(dir.File("nats.conf"), $"authorization {{ users = [ {{ nkey: \"{user.GetPublicKey()}\" }} ] }}\n");
        // A seed file as `nk -gen user` writes it: the seed alone (the public key is derived).
        File.WriteAllText(dir.File("user.nk"), user.GetSeed() + "\n");
        File.WriteAllText(dir.File("stranger.nk"), stranger.GetSeed() + "\n");
        File.WriteAllText(dir.File("not-a-seed.nk"), user.GetPublicKey() + "\n");
        int port = NatsServerProcess.FreePort();
        await using var nats = await NatsServerProcess.StartWithAsync(port, jetStream: false, "-c", dir.File("nats.conf"));
        string url = $"nats://127.0.0.1:{port}";

        var good = Bus(url) with { NKeyFile = dir.File("user.nk") };
        Assert.Equal(BusReachability.Connected, (await NatsSessionHub.ProbeAsync(good, TimeSpan.FromSeconds(5))).State);
        await AssertReplicasShareSessionsAsync(good, nats.Output);
        await AssertRefusedAsync(Bus(url) with { NKeyFile = dir.File("stranger.nk") }, "an unknown NKey", stranger.GetSeed());
        await AssertRefusedAsync(Bus(url), "no NKey");

        var bad = await Assert.ThrowsAsync<InvalidDataException>(() => NatsSessionHub.ProbeAsync(Bus(url) with { NKeyFile = dir.File("not-a-seed.nk") }, TimeSpan.FromSeconds(5)));
        Assert.Equal($"bus.nkey_file {dir.File("not-a-seed.nk")}: no user NKey seed in it (a line starting SU)", bad.Message);

        // The config names the problem: a missing file, or two ways at once.
        File.WriteAllText(dir.File("server.json"), """{ "bus": { "kind": "nats", "nkey_file": "missing.nk" } }""");
        var missing = Assert.Throws<InvalidDataException>(() => ServerOptions.Load(dir.File("server.json")));
        Assert.Equal($"{dir.File("server.json")}: bus.nkey_file missing.nk not found", missing.Message);
        File.WriteAllText(dir.File("server.json"), """{ "bus": { "kind": "nats", "nkey_file": "user.nk", "credentials_file": "user.nk" } }""");
        var both = Assert.Throws<InvalidDataException>(() => ServerOptions.Load(dir.File("server.json")));
        Assert.Contains("bus.credentials_file and bus.nkey_file", both.Message, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_creds_file_for_NATS_in_operator_mode_is_honoured_and_one_of_an_unknown_account_refused()
    {
        Skip.If(NatsServerProcess.Find() is null, NatsServerProcess.Missing);
        using var dir = new TempDir();
        using var op = KeyPair.CreatePair(PrefixByte.Operator);
        using var account = KeyPair.CreatePair(PrefixByte.Account);
        using var user = KeyPair.CreatePair(PrefixByte.User);
        using var rogueAccount = KeyPair.CreatePair(PrefixByte.Account);
        File.WriteAllText(dir.File("operator.jwt"), Jwt(op, op.GetPublicKey(), "test-operator", new { type = "operator", version = 2 }));
        string accountJwt = Jwt(op, account.GetPublicKey(), "wavfusion", new
        {
            limits = new { subs = -1, data = -1, payload = -1, imports = -1, exports = -1, wildcards = true, conn = -1, leaf = -1 },
            default_permissions = new { pub = new { }, sub = new { } },
            type = "account",
            version = 2,
        });
        File.WriteAllText(dir.File("nats.conf"), $"operator: \"{dir.File("operator.jwt")}\"\nresolver: MEMORY\nresolver_preload: {{\n  {account.GetPublicKey()}: \"{accountJwt}\"\n}}\n");
        File.WriteAllText(dir.File("replica.creds"), Creds(Jwt(account, user.GetPublicKey(), "replica", UserClaims()), user.GetSeed()));
        // Signed by an account the operator never issued: NATS cannot vouch for it.
        File.WriteAllText(dir.File("rogue.creds"), Creds(Jwt(rogueAccount, user.GetPublicKey(), "rogue", UserClaims()), user.GetSeed()));
        File.WriteAllText(dir.File("broken.creds"), "not a creds file\n");
        int port = NatsServerProcess.FreePort();
        await using var nats = await NatsServerProcess.StartWithAsync(port, jetStream: false, "-c", dir.File("nats.conf"));
        string url = $"nats://127.0.0.1:{port}";

        var good = Bus(url) with { CredentialsFile = dir.File("replica.creds") };
        var probe = await NatsSessionHub.ProbeAsync(good, TimeSpan.FromSeconds(5));
        Assert.True(probe.State == BusReachability.Connected, $"{probe.Reason}\n{nats.Output}");
        await AssertReplicasShareSessionsAsync(good, nats.Output);
        await AssertRefusedAsync(Bus(url) with { CredentialsFile = dir.File("rogue.creds") }, "a user of an unknown account", user.GetSeed());
        await AssertRefusedAsync(Bus(url), "no creds");
        var broken = await Assert.ThrowsAsync<InvalidDataException>(() => NatsSessionHub.ProbeAsync(Bus(url) with { CredentialsFile = dir.File("broken.creds") }, TimeSpan.FromSeconds(5)));
        Assert.Equal($"bus.credentials_file {dir.File("broken.creds")}: not a NATS .creds file (a user JWT and its NKey seed, as nsc writes them)", broken.Message);
    }

    [SkippableFact]
    public async Task TLS_to_NATS_with_a_private_CA_and_a_client_certificate_is_honoured_and_an_untrusted_server_refused()
    {
        Skip.If(NatsServerProcess.Find() is null, NatsServerProcess.Missing);
        using var dir = new TempDir();
        var (ca, server, client) = (dir.File("ca.pem"), (dir.File("server.pem"), dir.File("server-key.pem")), (dir.File("client.pem"), dir.File("client-key.pem")));
        using (var authority = Certificates.Authority("wavfusion test CA"))
        {
            File.WriteAllText(ca, authority.ExportCertificatePem());
            Certificates.Issue(authority, "127.0.0.1", server.Item1, server.Item2);
            Certificates.Issue(authority, "replica", client.Item1, client.Item2);
        }
        using (var other = Certificates.Authority("some other CA")) File.WriteAllText(dir.File("other-ca.pem"), other.ExportCertificatePem());

        int port = NatsServerProcess.FreePort();
        await using (var nats = await NatsServerProcess.StartWithAsync(port, jetStream: false, "--tls", "--tlscert", server.Item1, "--tlskey", server.Item2))
        {
            // NATS requires TLS; bus.tls.ca_file trusts its private CA.
            var good = Bus($"tls://127.0.0.1:{port}") with { Tls = new BusTlsOptions { CaFile = ca } };
            var probe = await NatsSessionHub.ProbeAsync(good, TimeSpan.FromSeconds(5));
            Assert.True(probe.State == BusReachability.Connected, $"{probe.Reason}\n{nats.Output}");
            await AssertReplicasShareSessionsAsync(good, nats.Output);
            // nats:// with required TLS, as a config that does not spell tls:// would.
            Assert.Equal(BusReachability.Connected,
                (await NatsSessionHub.ProbeAsync(Bus($"nats://127.0.0.1:{port}") with { Tls = new BusTlsOptions { Required = true, CaFile = ca } }, TimeSpan.FromSeconds(5))).State);

            var untrusted = await AssertRefusedAsync(Bus($"tls://127.0.0.1:{port}") with { Tls = new BusTlsOptions { CaFile = dir.File("other-ca.pem") } }, "a CA that did not sign NATS's certificate");
            Assert.Contains("TLS", untrusted.Reason, StringComparison.Ordinal);
            await AssertRefusedAsync(Bus($"tls://127.0.0.1:{port}"), "the system's CAs only");
        }

        port = NatsServerProcess.FreePort();
        await using (var nats = await NatsServerProcess.StartWithAsync(port, jetStream: false,
                         "--tls", "--tlscert", server.Item1, "--tlskey", server.Item2, "--tlsverify", "--tlscacert", ca))
        {
            // NATS verifies clients: the replica's certificate, from the same CA.
            var good = Bus($"tls://127.0.0.1:{port}") with { Tls = new BusTlsOptions { CaFile = ca, CertFile = client.Item1, KeyFile = client.Item2 } };
            var probe = await NatsSessionHub.ProbeAsync(good, TimeSpan.FromSeconds(5));
            Assert.True(probe.State == BusReachability.Connected, $"{probe.Reason}\n{nats.Output}");
            await AssertReplicasShareSessionsAsync(good, nats.Output);
            await AssertRefusedAsync(Bus($"tls://127.0.0.1:{port}") with { Tls = new BusTlsOptions { CaFile = ca } }, "no client certificate");
        }
    }

    private static object UserClaims() => new { pub = new { }, sub = new { }, subs = -1, data = -1, payload = -1, type = "user", version = 2 };

    /// <summary>A NATS JWT (v2): header and claims base64url-encoded, signed with the issuer's NKey over "header.claims".</summary>
    private static string Jwt(KeyPair issuer, string subject, string name, object nats)
    {
        string header = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new { typ = "JWT", alg = "ed25519-nkey" }));
        string claims = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new
        {
            jti = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)),
            iat = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            iss = issuer.GetPublicKey(),
            name,
            sub = subject,
            nats,
        }));
        var signature = new byte[64];
        issuer.Sign(Encoding.ASCII.GetBytes($"{header}.{claims}"), signature);
        return $"{header}.{claims}.{Base64Url(signature)}";
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Creds(string jwt, string seed) => $"""
        -----BEGIN NATS USER JWT-----
        {jwt}
        ------END NATS USER JWT------

        -----BEGIN USER NKEY SEED-----
        {seed}
        ------END USER NKEY SEED------

        """;

    /// <summary>A private CA and the certificates it issues, made in process (no openssl needed), as PEM files.</summary>
    private static class Certificates
    {
        public static X509Certificate2 Authority(string name)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        }

        /// <summary>A certificate for <paramref name="name"/> (an IP address or a name), good for a server and a client.</summary>
        public static void Issue(X509Certificate2 authority, string name, string certificateFile, string keyFile)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            if (IPAddress.TryParse(name, out var ip)) san.AddIpAddress(ip);
            else san.AddDnsName(name);
            request.CertificateExtensions.Add(san.Build());
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(authority, true, false));
            using var certificate = request.Create(authority, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12), RandomNumberGenerator.GetBytes(8));
            File.WriteAllText(certificateFile, certificate.ExportCertificatePem());
            File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        }
    }
}
