using Grpc.Core;
using Grpc.Core.Interceptors;

namespace WavFusion.Server.Security;

/// <summary>
/// Checks the <c>x-api-key</c> header of every call to our services before the handler runs: a missing or unknown key
/// is UNAUTHENTICATED, a key without the service's right PERMISSION_DENIED. Health checking and reflection need no key
/// (load balancers and tools call them). Without a keys file every caller is <see cref="Caller.Anonymous"/>.
/// </summary>
public sealed class ApiKeyInterceptor(ApiKeySet? keys) : Interceptor
{
    public const string Header = "x-api-key";
    private const string CallerKey = "wavfusion.caller";

    /// <summary>The right each of our services needs, by its full proto name.</summary>
    private static readonly Dictionary<string, Rights> ServiceRights = new(StringComparer.Ordinal)
    {
        ["wavfusion.v1.EmotionRecognizer"] = Rights.Push,
        ["wavfusion.v1.SessionMonitor"] = Rights.Watch,
    };

    /// <summary>The caller the interceptor admitted (anonymous for services that need no key).</summary>
    public static Caller CallerOf(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.UserState.TryGetValue(CallerKey, out var caller) && caller is Caller c ? c : Caller.Anonymous;
    }

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        Admit(context);
        return continuation(request, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        Admit(context);
        return continuation(requestStream, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        Admit(context);
        return continuation(request, responseStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        Admit(context);
        return continuation(requestStream, responseStream, context);
    }

    private void Admit(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!ServiceRights.TryGetValue(ServiceOf(context.Method), out var needed)) return;
        Caller caller;
        if (keys is null)
        {
            caller = Caller.Anonymous;
        }
        else
        {
            var presented = context.RequestHeaders.GetValue(Header);
            caller = keys.Find(presented)
                     ?? throw new RpcException(new Status(StatusCode.Unauthenticated,
                         presented is null ? $"no API key: send one in the '{Header}' header" : "unknown API key"));
        }
        if (!caller.Rights.HasFlag(needed))
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"key '{caller.Name}' lacks the {needed.ToString().ToLowerInvariant()} right that {ServiceOf(context.Method)} needs"));
        context.UserState[CallerKey] = caller;
    }

    /// <summary>"/package.Service/Method" → "package.Service".</summary>
    private static string ServiceOf(string method)
    {
        int slash = method.LastIndexOf('/');
        return slash <= 0 ? method : method[1..slash];
    }
}
