using Microsoft.AspNetCore.Http;

namespace Dapr.DevSidecar.Api;

/// <summary>
/// Answers gRPC calls to Dapr API methods the dev sidecar does not implement with
/// Unimplemented and a message naming the API and the method (instead of Grpc.AspNetCore's
/// generic one). The workflow engine's durabletask service (<c>TaskHubSidecarService</c>),
/// which daprd serves on the same port, counts as a Dapr API: it is never proxied to an app.
/// </summary>
public sealed class GrpcFallbackMiddleware(RequestDelegate next)
{
    private const string Prefix = "/" + DaprGrpcService.ServiceName + "/";
    private const string WorkflowPrefix = "/" + UnimplementedApis.WorkflowGrpcService + "/";

    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        if (IsGrpc(context.Request))
        {
            if (path.StartsWith(Prefix, StringComparison.Ordinal) && !DaprGrpcService.IsImplemented(path.AsSpan(Prefix.Length)))
            {
                return Unimplemented(context, DaprGrpcService.ServiceName, path[Prefix.Length..]);
            }

            if (path.StartsWith(WorkflowPrefix, StringComparison.Ordinal))
            {
                return Unimplemented(context, UnimplementedApis.WorkflowGrpcService, path[WorkflowPrefix.Length..]);
            }
        }

        return next(context);
    }

    private static Task Unimplemented(HttpContext context, string service, string method) =>
        WriteStatus(context, 12, $"{UnimplementedApis.GrpcApiName(service, method)} is not implemented by the dev sidecar ({service}/{method})");

    public static bool IsGrpc(HttpRequest request) =>
        request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>A trailers-only gRPC response with the given status.</summary>
    public static Task WriteStatus(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/grpc";
        context.Response.Headers["grpc-status"] = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.Headers["grpc-message"] = Uri.EscapeDataString(message);
        return Task.CompletedTask;
    }
}
