using System.Net;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Microsoft.AspNetCore.TestHost;
using WavFusion.Api.V1;
using WavFusion.Server;
using WavFusion.Server.Sessions;
using Xunit.Abstractions;

namespace WavFusion.Tests.Server.Dashboard;

/// <summary>
/// The dashboard's page and JSON-lines endpoints on the in-memory host: what is served, the key rules (as gRPC's),
/// events through the session hub with their lost counts, the watcher limits, and the live session list.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed partial class DashboardApiTests(ServerRuntimeFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [GeneratedRegex("(?:src|href)=\"([^\"]+)\"")]
    private static partial Regex AssetReference();

    [Fact]
    public async Task The_page_and_its_assets_are_served_from_the_server_itself_under_a_strict_policy()
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime, keys: InMemoryServer.Keys());
        using var http = server.App.GetTestServer().CreateClient();

        foreach (var path in new[] { "/", "/dashboard" })
        {
            using var redirect = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
            Assert.Equal("/dashboard/", redirect.Headers.Location?.OriginalString);
        }

        using var page = await http.GetAsync("/dashboard/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        string csp = string.Join(";", page.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self'", csp, StringComparison.Ordinal);
        string html = await page.Content.ReadAsStringAsync();
        Assert.Contains("id=\"chart\"", html, StringComparison.Ordinal);

        // Everything the page loads comes from the server (offline, no CDN), and every reference resolves.
        var assets = AssetReference().Matches(html).Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.Contains("app.js", assets);
        Assert.Contains("style.css", assets);
        foreach (var asset in assets)
        {
            Assert.DoesNotContain("//", asset, StringComparison.Ordinal);
            using var response = await http.GetAsync("/dashboard/" + asset);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{asset}: {response.StatusCode}");
            // An SVG's namespace is a name, not a fetch.
            string text = (await response.Content.ReadAsStringAsync()).Replace("xmlns=\"http://www.w3.org/2000/svg\"", "", StringComparison.Ordinal);
            Assert.DoesNotContain("https://", text, StringComparison.Ordinal);
            Assert.DoesNotContain("http://", text, StringComparison.Ordinal);
            output.WriteLine($"{asset}: {text.Length} characters, {response.Content.Headers.ContentType}");
        }
        // The key is the user's to type: the page never names one, nor puts one in a URL.
        string script = await http.GetStringAsync("/dashboard/app.js");
        Assert.DoesNotContain(InMemoryServer.WatchKey, script, StringComparison.Ordinal);
        Assert.DoesNotContain("localStorage", script, StringComparison.Ordinal);
        Assert.Contains("'x-api-key'", script, StringComparison.Ordinal);

        using var missing = await http.GetAsync("/dashboard/missing.js");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task The_endpoints_need_a_key_with_the_watch_right_as_gRPC_does_and_an_open_server_needs_none()
    {
        await using (var server = await InMemoryServer.StartAsync(fixture.Runtime, keys: InMemoryServer.Keys()))
        {
            using var http = server.App.GetTestServer().CreateClient();
            foreach (var path in new[] { "/api/v1/sessions", "/api/v1/sessions/live", "/api/v1/watch" })
            {
                using var none = await GetAsync(http, path, key: null);
                Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
                Assert.Contains("no API key", await none.Content.ReadAsStringAsync(), StringComparison.Ordinal);
                using var unknown = await GetAsync(http, path, "not-a-key-0123456789");
                Assert.Equal(HttpStatusCode.Unauthorized, unknown.StatusCode);
                Assert.Contains("unknown API key", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
                using var push = await GetAsync(http, path, InMemoryServer.PushKey);
                Assert.Equal(HttpStatusCode.Forbidden, push.StatusCode);
                Assert.Contains("lacks the watch right", await push.Content.ReadAsStringAsync(), StringComparison.Ordinal);
                using var watch = await GetAsync(http, path, InMemoryServer.WatchKey);
                Assert.Equal(HttpStatusCode.OK, watch.StatusCode);
                using var both = await GetAsync(http, path, InMemoryServer.BothKey);
                Assert.Equal(HttpStatusCode.OK, both.StatusCode);
            }
        }

        await using (var open = await InMemoryServer.StartAsync(fixture.Runtime, keys: null))
        {
            using var http = open.App.GetTestServer().CreateClient();
            using var response = await GetAsync(http, "/api/v1/sessions", key: null);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Empty(JsonParser.Default.Parse<ListSessionsResponse>(await response.Content.ReadAsStringAsync()).Sessions);
        }
    }

    [Fact]
    public async Task A_watch_streams_the_sessions_events_as_the_protos_JSON_and_ends_after_its_summary()
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime, keys: InMemoryServer.Keys());
        using var http = server.App.GetTestServer().CreateClient();
        await using var session = await server.Hub.OpenAsync(Info("s-dash-1", "call 1"), CancellationToken.None);

        using var list = await GetAsync(http, "/api/v1/sessions", InMemoryServer.WatchKey);
        var listed = JsonParser.Default.Parse<ListSessionsResponse>(await list.Content.ReadAsStringAsync());
        Assert.Equal(["s-dash-1"], listed.Sessions.Select(s => s.SessionId));
        Assert.Equal("call 1", listed.Sessions[0].SessionLabel);

        using var unknown = await GetAsync(http, "/api/v1/watch?session_id=s-nope", InMemoryServer.WatchKey);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);

        // Headers come once the watcher is subscribed, so nothing published after them is missed.
        using var watch = await GetAsync(http, "/api/v1/watch?session_id=s-dash-1", InMemoryServer.WatchKey);
        Assert.Equal(HttpStatusCode.OK, watch.StatusCode);
        Assert.Equal("application/x-ndjson", watch.Content.Headers.ContentType?.MediaType);
        var published = new[] { Result("s-dash-1", 1000, final: false), Speech("s-dash-1", 1200), Result("s-dash-1", 2400, final: true), Summary("s-dash-1") };
        foreach (var e in published) session.Publish(e);

        var received = await ReadLinesAsync(watch);
        Assert.Equal(published, received.Select(w => w.Event));
        Assert.All(received, w => Assert.Equal("s-dash-1", w.SessionId));
        Assert.All(received, w => Assert.Equal(0ul, w.DroppedEvents));
    }

    [Fact]
    public async Task A_watcher_that_falls_behind_loses_its_oldest_events_and_counts_every_one()
    {
        var options = InMemoryServer.FastOptions() with { Watch = new WatchOptions { QueueCapacity = 4 } };
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime, options, InMemoryServer.Keys());
        using var http = server.App.GetTestServer().CreateClient();
        await using var session = await server.Hub.OpenAsync(Info("s-dash-2", "burst"), CancellationToken.None);
        using var watch = await GetAsync(http, "/api/v1/watch?session_id=s-dash-2", InMemoryServer.WatchKey);
        Assert.Equal(HttpStatusCode.OK, watch.StatusCode);

        // A burst published without waiting, while nothing reads the response.
        const int Burst = 3000;
        for (int i = 1; i <= Burst; i++) session.Publish(Result("s-dash-2", i, final: false));
        session.Publish(Summary("s-dash-2"));

        var received = await ReadLinesAsync(watch);
        var offsets = received.Where(w => w.Event.Result is not null).Select(w => w.Event.Result.EndOffsetMs).ToList();
        ulong lost = received[^1].DroppedEvents;
        output.WriteLine($"{offsets.Count} of {Burst} results arrived, {lost} counted as lost");
        Assert.NotNull(received[^1].Event.Summary);
        // In order, the newest kept, and every event either delivered or counted.
        Assert.Equal(offsets.Order(), offsets);
        Assert.Equal(Burst, offsets[^1]);
        Assert.Equal((ulong)Burst + 1, (ulong)received.Count + lost);
        Assert.Equal(received.Select(w => w.DroppedEvents).Order(), received.Select(w => w.DroppedEvents));
    }

    [Fact]
    public async Task Watches_beyond_the_watcher_limits_are_refused_with_429()
    {
        var options = InMemoryServer.FastOptions(l => l with { MaxWatchersPerSession = 1, MaxAllSessionWatchers = 1 });
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime, options, InMemoryServer.Keys());
        using var http = server.App.GetTestServer().CreateClient();
        await using var session = await server.Hub.OpenAsync(Info("s-dash-3", "limits"), CancellationToken.None);

        using var first = await GetAsync(http, "/api/v1/watch?session_id=s-dash-3", InMemoryServer.WatchKey);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        using var second = await GetAsync(http, "/api/v1/watch?session_id=s-dash-3", InMemoryServer.WatchKey);
        Assert.Equal((HttpStatusCode)429, second.StatusCode);
        Assert.Contains("limits.max_watchers_per_session", await second.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var all = await GetAsync(http, "/api/v1/watch", InMemoryServer.WatchKey);
        Assert.Equal(HttpStatusCode.OK, all.StatusCode);
        using var allAgain = await GetAsync(http, "/api/v1/watch", InMemoryServer.WatchKey);
        Assert.Equal((HttpStatusCode)429, allAgain.StatusCode);
        Assert.Contains("limits.max_all_session_watchers", await allAgain.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var lists = await GetAsync(http, "/api/v1/sessions/live", InMemoryServer.WatchKey);
        Assert.Equal(HttpStatusCode.OK, lists.StatusCode);
        using var listsAgain = await GetAsync(http, "/api/v1/sessions/live", InMemoryServer.WatchKey);
        Assert.Equal((HttpStatusCode)429, listsAgain.StatusCode);
    }

    [Fact]
    public async Task The_live_session_list_shows_sessions_as_they_open_and_end()
    {
        await using var server = await InMemoryServer.StartAsync(fixture.Runtime, keys: InMemoryServer.Keys());
        using var http = server.App.GetTestServer().CreateClient();
        using var live = await GetAsync(http, "/api/v1/sessions/live", InMemoryServer.WatchKey);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        using var reader = new StreamReader(await live.Content.ReadAsStreamAsync());
        using var timeout = new CancellationTokenSource(Patience);

        Assert.Empty((await NextListAsync(reader, timeout.Token)).Sessions);
        var session = await server.Hub.OpenAsync(Info("s-dash-4", "appears"), CancellationToken.None);
        var shown = await NextListAsync(reader, timeout.Token);
        Assert.Equal(["s-dash-4"], shown.Sessions.Select(s => s.SessionId));
        await session.DisposeAsync();
        Assert.Empty((await NextListAsync(reader, timeout.Token)).Sessions);
    }

    private static async Task<HttpResponseMessage> GetAsync(HttpClient http, string path, string? key)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (key is not null) request.Headers.Add("x-api-key", key);
        using var timeout = new CancellationTokenSource(Patience);
        return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
    }

    /// <summary>The watch's lines until the server ends it (keep-alive lines skipped).</summary>
    private static async Task<List<WatchResponse>> ReadLinesAsync(HttpResponseMessage response)
    {
        using var timeout = new CancellationTokenSource(Patience);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token));
        var lines = new List<WatchResponse>();
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
            if (line.Length > 0) lines.Add(JsonParser.Default.Parse<WatchResponse>(line));
        return lines;
    }

    private static async Task<ListSessionsResponse> NextListAsync(StreamReader reader, CancellationToken token)
    {
        while (true)
        {
            string line = await reader.ReadLineAsync(token) ?? throw new EndOfStreamException("the live list ended");
            if (line.Length > 0) return JsonParser.Default.Parse<ListSessionsResponse>(line);
        }
    }

    private static SessionInfo Info(string id, string label) => new()
    {
        SessionId = id,
        SessionLabel = label,
        StartedUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        Modalities = new Modalities { Audio = true },
        Channels = { new ChannelRole { Channel = 0, Role = ChannelRole.Types.Role.Customer } },
    };

    private static StreamingRecognizeResponse Result(string session, long endMs, bool final) => new()
    {
        SessionId = session,
        Result = new EmotionResult
        {
            IsFinal = final,
            Stability = 1,
            StartOffsetMs = Math.Max(0, endMs - 1000),
            EndOffsetMs = endMs,
            Fused = { new EmotionScore { Label = "neutral", Probability = 0.25f }, new EmotionScore { Label = "happy", Probability = 0.75f } },
            TopLabel = "happy",
            Transcript = final ? "and so my fellow americans" : "",
            ModalitiesPresent = new Modalities { Audio = true },
            ModelVersion = "test",
            LatencyMs = 42,
        },
    };

    private static StreamingRecognizeResponse Speech(string session, long at) => new()
    {
        SessionId = session,
        SpeechEvent = new SpeechEvent { Type = SpeechEvent.Types.Type.SpeechBegin, OffsetMs = at },
    };

    private static StreamingRecognizeResponse Summary(string session) => new()
    {
        SessionId = session,
        Summary = new SessionSummary { Reason = SessionSummary.Types.EndReason.Completed, AudioDurationMs = 2400, Results = 2, FinalResults = 1 },
    };
}
