using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Chat.ServiceDefaults.Boundary;

/// <summary>
/// Keeps the app's sidecar callbacks (actor calls, pub/sub deliveries, <c>/dapr/subscribe</c>,
/// <c>/dapr/config</c>, <c>/internal/*</c>, invocation) for the sidecar:
/// <list type="bullet">
/// <item>When the app listens on more ports than its app port (APP_PORT, the port the sidecar
/// calls; the gateway's client port is another), callbacks answer 404 on the other ports and
/// client endpoints (<see cref="ClientEndpointExtensions.ForClients{TBuilder}"/>) 404 on the app port.</item>
/// <item>On the app port every request but health needs <c>dapr-api-token</c> = APP_API_TOKEN
/// (401 otherwise, before any handler runs). gRPC methods are checked by
/// <see cref="Auth.ChatAuthInterceptor"/> instead, which answers with a gRPC status.</item>
/// </list>
/// Health endpoints stay open on every port (the orchestrator probes them) and say only Healthy/Unhealthy.
/// </summary>
public sealed partial class SidecarBoundaryMiddleware
{
    private readonly RequestDelegate _next;
    private readonly byte[]? _tokenHash;
    private readonly int? _appPort;

    public SidecarBoundaryMiddleware(RequestDelegate next, IConfiguration configuration, ILogger<SidecarBoundaryMiddleware> log)
    {
        _next = next;
        var token = SidecarToken.Configured(configuration);
        _tokenHash = token is null ? null : SidecarToken.Hash(token);
        _appPort = int.TryParse(configuration["APP_PORT"], out var port) ? port : null;
        if (token is null)
        {
            LogNoToken(log);
        }
    }

    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (path.StartsWithSegments(ServiceDefaultsExtensions.LivenessPath, StringComparison.Ordinal)
            || path.StartsWithSegments(ServiceDefaultsExtensions.ReadinessPath, StringComparison.Ordinal))
        {
            return _next(context);
        }

        // Without a known app port every port is both (a single-port app run by hand).
        var onAppPort = _appPort is not { } appPort || context.Connection.LocalPort == appPort;
        var onClientPort = _appPort is null || !onAppPort;
        var endpoint = context.GetEndpoint();
        if (endpoint?.Metadata.GetMetadata<ClientEndpointMetadata>() is not null)
        {
            return onClientPort ? _next(context) : NotFound(context);
        }

        // No endpoint: static files or a 404, which clients may see.
        if (endpoint is null && onClientPort)
        {
            return _next(context);
        }

        if (!onAppPort)
        {
            return NotFound(context);
        }

        if (_tokenHash is null || endpoint?.Metadata.GetMetadata<GrpcMethodMetadata>() is not null
            || SidecarToken.Matches(context.Request.Headers[SidecarToken.Header].FirstOrDefault(), _tokenHash))
        {
            return _next(context);
        }

        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        return context.Response.WriteAsync($"Only this app's Dapr sidecar may call it: missing or wrong {SidecarToken.Header}.", context.RequestAborted);
    }

    private static Task NotFound(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "APP_API_TOKEN is not set: anything that reaches the app port can call the sidecar callbacks. Set it (dapr.yaml and ./run.sh do).")]
    private static partial void LogNoToken(ILogger logger);
}
