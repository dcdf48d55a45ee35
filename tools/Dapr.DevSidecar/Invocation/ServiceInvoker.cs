using Dapr.DevSidecar.Api;
using Dapr.DevSidecar.Hosting;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Dapr.DevSidecar.Invocation;

/// <summary>
/// Service invocation for one sidecar: resolves the target app-id through the
/// <see cref="AppRegistry"/> and calls the target app directly (daprd goes sidecar to sidecar,
/// then to the app; the app sees the same request, with the target's APP_API_TOKEN).
/// </summary>
internal sealed partial class ServiceInvoker(SidecarContext sidecar, IHttpForwarder forwarder, ILogger<ServiceInvoker> log)
{
    public const string AppIdHeader = "dapr-app-id";
    public const string CalleeHeader = "dapr-callee-app-id";
    public const string CallerHeader = "dapr-caller-app-id";
    public const string CallerNamespaceHeader = "dapr-caller-namespace";

    public SidecarContext Sidecar => sidecar;

    /// <summary>The next instance of <paramref name="appId"/>, or null when none runs.</summary>
    public AppInstance? Find(string appId) => sidecar.Runtime.Apps.Resolve(appId);

    /// <summary>The target, or daprd's ERR_DIRECT_INVOKE (500 / Internal) when no instance runs.</summary>
    public AppInstance Resolve(string appId)
    {
        var target = Find(appId) ?? throw DirectInvokeError(appId, $"couldn't find service: {appId}");
        if (target.AppPort is null)
        {
            throw DirectInvokeError(appId, $"app '{appId}' runs without an app port, so nothing can be invoked on it");
        }

        return target;
    }

    public static DaprApiException DirectInvokeError(string appId, string error) =>
        DaprApiException.Internal("ERR_DIRECT_INVOKE", $"failed to invoke, id: {appId}, err: {error}");

    /// <summary>
    /// <c>/v1.0/invoke/{appId}/method/{method}</c> (or a request carrying <c>dapr-app-id</c>):
    /// forwards verb, headers, query and body to the target app and streams its answer back.
    /// </summary>
    public async Task InvokeHttpAsync(HttpContext context, string appId, string method)
    {
        AppInstance target;
        try
        {
            target = Resolve(appId);
        }
        catch (DaprApiException ex)
        {
            await ex.ToHttpResult().ExecuteAsync(context);
            return;
        }

        if (target.AppProtocol == "grpc")
        {
            await InvokeGrpcAppFromHttpAsync(context, target, method);
            return;
        }

        var prefix = $"http://{target.AppChannelAddress}:{target.AppPort}";
        var error = await forwarder.SendAsync(context, prefix, AppConnections.Invoker, AppConnections.HttpForwarding,
            new InvocationTransformer(sidecar, target, method), context.RequestAborted);
        if (error != ForwarderError.None && !context.Response.HasStarted)
        {
            var reason = context.Features.Get<IForwarderErrorFeature>()?.Exception?.Message ?? error.ToString();
            LogInvokeFailed(log, appId, method, reason);
            context.Response.Headers.Clear();
            await DirectInvokeError(appId, reason).ToHttpResult().ExecuteAsync(context);
        }
    }

    /// <summary>The method path of <c>/v1.0/invoke/{id}/method/{method}</c>, still percent-encoded as sent.</summary>
    public static string MethodFromRawTarget(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "";
        var query = raw.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0)
        {
            raw = raw[..query];
        }

        // daprd cleans the method path too (repeated and trailing slashes); escapes stay as sent.
        var at = raw.IndexOf("/method/", StringComparison.Ordinal);
        return at < 0 ? "" : PathCleaningMiddleware.Clean(raw[(at + "/method/".Length - 1)..])[1..];
    }

    /// <summary>Headers of the caller the app must not see (or sees rewritten).</summary>
    public static bool IsSidecarHeader(string name) =>
        name.Equals(ApiTokenMiddleware.HeaderName, StringComparison.OrdinalIgnoreCase)
        || name.Equals(AppIdHeader, StringComparison.OrdinalIgnoreCase)
        || name.Equals(CalleeHeader, StringComparison.OrdinalIgnoreCase)
        || name.Equals(CallerHeader, StringComparison.OrdinalIgnoreCase)
        || name.Equals(CallerNamespaceHeader, StringComparison.OrdinalIgnoreCase);

    /// <summary>Adds what daprd adds on the way to the target app: caller/callee ids and the target's app token.</summary>
    public void AddInvocationHeaders(Action<string, string> add, AppInstance target)
    {
        add(CallerHeader, sidecar.AppId);
        add(CalleeHeader, target.AppId);
        if (!string.IsNullOrEmpty(target.AppApiToken))
        {
            add(ApiTokenMiddleware.HeaderName, target.AppApiToken);
        }
    }

    /// <summary>Rewrites the forwarded request: target URL, sidecar headers out, invocation headers in.</summary>
    private sealed class InvocationTransformer(SidecarContext sidecar, AppInstance target, string? method) : HttpTransformer
    {
        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
            if (method is not null)
            {
                proxyRequest.RequestUri = new Uri($"{destinationPrefix}/{method.TrimStart('/')}{httpContext.Request.QueryString}");
            }

            var headers = proxyRequest.Headers;
            headers.Remove(ApiTokenMiddleware.HeaderName);
            headers.Remove(AppIdHeader);
            headers.Remove(CalleeHeader);
            headers.Remove(CallerHeader);
            headers.Remove(CallerNamespaceHeader);
            headers.TryAddWithoutValidation(CallerHeader, sidecar.AppId);
            headers.TryAddWithoutValidation(CalleeHeader, target.AppId);
            if (!string.IsNullOrEmpty(target.AppApiToken))
            {
                headers.TryAddWithoutValidation(ApiTokenMiddleware.HeaderName, target.AppApiToken);
            }

            if (method is not null && httpContext.Connection.LocalIpAddress is { } local)
            {
                // daprd names itself in the forwarding headers of HTTP invocations.
                headers.TryAddWithoutValidation("X-Forwarded-For", local.ToString());
                headers.TryAddWithoutValidation("X-Forwarded-Host", Environment.MachineName);
                headers.TryAddWithoutValidation("Forwarded", $"for={local};by={local};host={Environment.MachineName}");
            }
        }
    }

    /// <summary>The transformer for gRPC proxying: same path, sidecar headers rewritten.</summary>
    public HttpTransformer GrpcProxyTransformer(AppInstance target) => new InvocationTransformer(sidecar, target, null);

    public IHttpForwarder Forwarder => forwarder;

    public ILogger Log => log;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Invoking app '{AppId}' method '{Method}' failed: {Reason}")]
    private static partial void LogInvokeFailed(ILogger logger, string appId, string method, string reason);

    internal static StatusCode CodeFromHttpStatus(int status) => status switch
    {
        >= 200 and < 300 => StatusCode.OK,
        408 => StatusCode.Cancelled,
        500 => StatusCode.Unknown,
        400 => StatusCode.Internal,
        504 => StatusCode.DeadlineExceeded,
        404 => StatusCode.NotFound,
        409 => StatusCode.AlreadyExists,
        403 => StatusCode.PermissionDenied,
        401 => StatusCode.Unauthenticated,
        429 => StatusCode.ResourceExhausted,
        501 => StatusCode.Unimplemented,
        503 => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };

    internal static int HttpStatusFromCode(StatusCode code) => code switch
    {
        StatusCode.OK => 200,
        StatusCode.Cancelled => 408,
        StatusCode.Unknown => 500,
        StatusCode.InvalidArgument => 400,
        StatusCode.DeadlineExceeded => 504,
        StatusCode.NotFound => 404,
        StatusCode.AlreadyExists => 409,
        StatusCode.PermissionDenied => 403,
        StatusCode.Unauthenticated => 401,
        StatusCode.ResourceExhausted => 429,
        StatusCode.FailedPrecondition => 400,
        StatusCode.Aborted => 409,
        StatusCode.OutOfRange => 400,
        StatusCode.Unimplemented => 501,
        StatusCode.Internal => 500,
        StatusCode.Unavailable => 503,
        StatusCode.DataLoss => 500,
        _ => 500,
    };
}
