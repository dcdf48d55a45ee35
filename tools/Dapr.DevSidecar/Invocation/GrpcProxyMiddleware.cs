using Dapr.DevSidecar.Api;
using Dapr.DevSidecar.Hosting;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Dapr.DevSidecar.Invocation;

/// <summary>
/// gRPC proxying, as daprd: a gRPC call to the sidecar for any service other than the Dapr API
/// (and reflection), carrying <c>dapr-callee-app-id</c> or <c>dapr-app-id</c>, goes to that
/// app's port over h2c: unary and streaming, with status, trailers and <c>grpc-timeout</c> kept.
/// On the HTTP port, a request carrying <c>dapr-app-id</c> outside the Dapr API is an HTTP
/// invocation of its path (daprd's header form).
/// Runs after the API token check and before routing.
/// </summary>
internal sealed class GrpcProxyMiddleware(RequestDelegate next, ServiceInvoker invoker)
{
    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "";
        if (!GrpcFallbackMiddleware.IsGrpc(request))
        {
            if (request.Headers.ContainsKey(ServiceInvoker.AppIdHeader)
                && !path.StartsWith("/v1.0", StringComparison.Ordinal) && !path.StartsWith("/dapr/", StringComparison.Ordinal))
            {
                var appId = request.Headers[ServiceInvoker.AppIdHeader].ToString();
                return invoker.InvokeHttpAsync(context, appId, path.TrimStart('/'));
            }

            return next(context);
        }

        if (path.StartsWith("/dapr.proto.runtime.", StringComparison.Ordinal) || path.StartsWith("/grpc.reflection.", StringComparison.Ordinal))
        {
            return next(context);
        }

        var target = request.Headers[ServiceInvoker.CalleeHeader].ToString();
        if (target.Length == 0)
        {
            target = request.Headers[ServiceInvoker.AppIdHeader].ToString();
        }

        if (target.Length == 0)
        {
            return GrpcFallbackMiddleware.WriteStatus(context, 12,
                $"failed to proxy request: required metadata {ServiceInvoker.CalleeHeader} or {ServiceInvoker.AppIdHeader} not found (method {path})");
        }

        return ProxyAsync(context, target);
    }

    private async Task ProxyAsync(HttpContext context, string appId)
    {
        var target = invoker.Find(appId);
        if (target is null || target.AppPort is null)
        {
            await GrpcFallbackMiddleware.WriteStatus(context, 14, target is null
                ? $"failed to proxy request: couldn't find service: {appId} (no running app with this id)"
                : $"failed to proxy request: app '{appId}' runs without an app port");
            return;
        }

        var error = await invoker.Forwarder.SendAsync(context, $"http://{target.AppChannelAddress}:{target.AppPort}", AppConnections.Invoker,
            AppConnections.GrpcForwarding, invoker.GrpcProxyTransformer(target), context.RequestAborted);
        if (error != ForwarderError.None && !context.Response.HasStarted)
        {
            var reason = context.Features.Get<IForwarderErrorFeature>()?.Exception?.Message ?? error.ToString();
            context.Response.Headers.Clear();
            await GrpcFallbackMiddleware.WriteStatus(context, error == ForwarderError.RequestCanceled ? 1 : 14,
                $"failed to proxy request to app '{appId}': {reason}");
        }
    }
}
