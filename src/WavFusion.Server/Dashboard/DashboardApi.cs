using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using WavFusion.Api.V1;
using WavFusion.Server.Hosting;
using WavFusion.Server.Security;

namespace WavFusion.Server.Dashboard;

/// <summary>
/// The dashboard's data, as the proto's JSON mapping over plain HTTP GETs a browser's fetch() can stream (EventSource
/// cannot send the key header): the sessions once, the sessions as they change, and one session's (or every
/// session's) events. All of it goes through <see cref="Sessions.ISessionHub"/>, like the gRPC SessionMonitor, so the
/// same watcher limits and bounded, drop-oldest queues apply, and it needs a key with the watch right in
/// <c>x-api-key</c> exactly as gRPC does: missing or unknown 401, without the right 403; a server without a keys file
/// (loopback only) admits every caller.
/// </summary>
internal sealed class DashboardApi
{
    public const string SessionsPath = "/api/v1/sessions";
    public const string LiveSessionsPath = "/api/v1/sessions/live";
    public const string WatchPath = "/api/v1/watch";

    /// <summary>How often a live session list asks the hub what is open: sessions appear and end within this.</summary>
    public static readonly TimeSpan ListInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>An empty line this often on an idle stream, so proxies keep it open and a vanished browser is noticed.</summary>
    public static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    private const string JsonLines = "application/x-ndjson; charset=utf-8";

    /// <summary>Every field, defaults included, so the page reads each without guessing.</summary>
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    private readonly ServerContext _server;
    private readonly ApiKeySet? _keys;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ShutdownCoordinator _shutdown;
    private int _liveLists;

    public DashboardApi(IServiceProvider services, ApiKeySet? keys)
    {
        _server = services.GetRequiredService<ServerContext>();
        _lifetime = services.GetRequiredService<IHostApplicationLifetime>();
        _shutdown = services.GetRequiredService<ShutdownCoordinator>();
        _keys = keys;
    }

    public void Map(WebApplication app)
    {
        app.MapGet(SessionsPath, ListAsync);
        app.MapGet(LiveSessionsPath, LiveListAsync);
        app.MapGet(WatchPath, WatchAsync);
    }

    private async Task ListAsync(HttpContext http)
    {
        if (!await AdmitAsync(http).ConfigureAwait(false)) return;
        var token = http.RequestAborted;
        var response = new ListSessionsResponse();
        response.Sessions.AddRange(await _server.Hub.ListAsync(token).ConfigureAwait(false));
        http.Response.ContentType = "application/json; charset=utf-8";
        NoStore(http.Response);
        await http.Response.WriteAsync(Json.Format(response), token).ConfigureAwait(false);
    }

    /// <summary>
    /// The open sessions as JSON lines, a new line each time the list changes. Counted against
    /// limits.max_all_session_watchers (429 beyond), since each one is a watcher of every session. Ends once the server
    /// has shut down and released its watchers, so dashboards see the streams of the grace period end.
    /// </summary>
    private async Task LiveListAsync(HttpContext http)
    {
        if (!await AdmitAsync(http).ConfigureAwait(false)) return;
        int limit = _server.Options.Limits.MaxAllSessionWatchers;
        if (Interlocked.Increment(ref _liveLists) > limit)
        {
            Interlocked.Decrement(ref _liveLists);
            await RefuseAsync(http, StatusCodes.Status429TooManyRequests,
                $"{limit} live session lists are open already (limits.max_all_session_watchers)").ConfigureAwait(false);
            return;
        }
        try
        {
            var token = http.RequestAborted;
            await StartLinesAsync(http).ConfigureAwait(false);
            string? last = null;
            var time = _server.Time;
            long lastWrite = time.GetTimestamp();
            bool stopSeen = false;
            while (!token.IsCancellationRequested)
            {
                // The coordinator starts on the stopping signal; from the next round on, its completion means every
                // stream has ended and been summarised.
                if (stopSeen && _shutdown.Completion.IsCompleted) break;
                stopSeen |= _lifetime.ApplicationStopping.IsCancellationRequested;
                var list = new ListSessionsResponse();
                list.Sessions.AddRange(await _server.Hub.ListAsync(token).ConfigureAwait(false));
                string line = Json.Format(list);
                if (line != last || time.GetElapsedTime(lastWrite) >= KeepAlive)
                {
                    await WriteLineAsync(http, line == last ? "" : line, token).ConfigureAwait(false);
                    last = line;
                    lastWrite = time.GetTimestamp();
                }
                await Task.Delay(ListInterval, time, token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The browser went away.
        }
        finally
        {
            Interlocked.Decrement(ref _liveLists);
        }
    }

    /// <summary>
    /// Events of <c>?session_id=</c> (all sessions without it) as JSON lines of <see cref="WatchResponse"/>, each with
    /// the events this watcher has lost so far; an empty line while idle. 404 for a session that is not open, 429
    /// beyond the watcher limits, 503 while the server shuts down. Ends after the session's summary.
    /// </summary>
    private async Task WatchAsync(HttpContext http)
    {
        if (!await AdmitAsync(http).ConfigureAwait(false)) return;
        var token = http.RequestAborted;
        string? sessionId = http.Request.Query["session_id"];
        Sessions.IWatchSubscription subscription;
        try
        {
            subscription = await _server.Hub.WatchAsync(sessionId, TimeSpan.Zero, token).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            await RefuseAsync(http, HttpStatusFor(e.StatusCode), e.Status.Detail).ConfigureAwait(false);
            return;
        }
        await using (subscription.ConfigureAwait(false))
        {
            using var reading = CancellationTokenSource.CreateLinkedTokenSource(token);
            var events = subscription.ReadAllAsync(reading.Token).GetAsyncEnumerator(reading.Token);
            Task<bool>? next = null;
            try
            {
                await StartLinesAsync(http).ConfigureAwait(false);
                // One writer: this loop. A pending read survives a keep-alive write, so no event is lost to the
                // timer; one timer at a time, however fast events come.
                var time = _server.Time;
                long lastWrite = time.GetTimestamp();
                next = events.MoveNextAsync().AsTask();
                var idle = Task.Delay(KeepAlive, time, token);
                while (true)
                {
                    if (await Task.WhenAny(next, idle).ConfigureAwait(false) == idle)
                    {
                        await idle.ConfigureAwait(false);
                        if (time.GetElapsedTime(lastWrite) >= KeepAlive)
                        {
                            await WriteLineAsync(http, "", token).ConfigureAwait(false);
                            lastWrite = time.GetTimestamp();
                        }
                        idle = Task.Delay(KeepAlive, time, token);
                        continue;
                    }
                    if (!await next.ConfigureAwait(false)) break;
                    next = null;
                    await WriteLineAsync(http, Json.Format(events.Current), token).ConfigureAwait(false);
                    lastWrite = time.GetTimestamp();
                    next = events.MoveNextAsync().AsTask();
                }
                next = null;
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
                // The browser went away; its queue goes with the subscription.
            }
            finally
            {
                // An iterator may not be disposed while a read is pending: end the read first.
                await reading.CancelAsync().ConfigureAwait(false);
                if (next is not null)
                {
                    try { await next.ConfigureAwait(false); }
                    catch (OperationCanceledException) { }
                }
                await events.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>The same rules as <see cref="ApiKeyInterceptor"/>: 401 for a missing or unknown key, 403 without the watch right.</summary>
    private async Task<bool> AdmitAsync(HttpContext http)
    {
        if (_keys is null) return true;
        string? presented = http.Request.Headers[ApiKeyInterceptor.Header];
        var caller = _keys.Find(presented);
        if (caller is null)
        {
            await RefuseAsync(http, StatusCodes.Status401Unauthorized,
                string.IsNullOrEmpty(presented) ? $"no API key: send one in the '{ApiKeyInterceptor.Header}' header" : "unknown API key").ConfigureAwait(false);
            return false;
        }
        if (!caller.Rights.HasFlag(Rights.Watch))
        {
            await RefuseAsync(http, StatusCodes.Status403Forbidden, $"key '{caller.Name}' lacks the watch right").ConfigureAwait(false);
            return false;
        }
        return true;
    }

    internal static int HttpStatusFor(StatusCode code) => code switch
    {
        StatusCode.NotFound => StatusCodes.Status404NotFound,
        StatusCode.ResourceExhausted => StatusCodes.Status429TooManyRequests,
        StatusCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        StatusCode.InvalidArgument => StatusCodes.Status400BadRequest,
        StatusCode.Unauthenticated => StatusCodes.Status401Unauthorized,
        StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
        _ => StatusCodes.Status500InternalServerError,
    };

    private static async Task RefuseAsync(HttpContext http, int status, string message)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "text/plain; charset=utf-8";
        NoStore(http.Response);
        await http.Response.WriteAsync(message + "\n", http.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Headers of a stream of lines, sent at once (so the page's fetch resolves), with buffering off.</summary>
    private static async Task StartLinesAsync(HttpContext http)
    {
        http.Response.ContentType = JsonLines;
        NoStore(http.Response);
        http.Response.Headers["X-Accel-Buffering"] = "no";
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await http.Response.StartAsync(http.RequestAborted).ConfigureAwait(false);
        await http.Response.Body.FlushAsync(http.RequestAborted).ConfigureAwait(false);
    }

    private static async Task WriteLineAsync(HttpContext http, string line, CancellationToken token)
    {
        await http.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"), token).ConfigureAwait(false);
        await http.Response.Body.FlushAsync(token).ConfigureAwait(false);
    }

    private static void NoStore(HttpResponse response) => response.Headers.CacheControl = "no-store";
}
