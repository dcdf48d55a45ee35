using Microsoft.AspNetCore.Http;

namespace Dapr.DevSidecar.Api;

/// <summary>
/// Answers gRPC calls to Dapr API methods the dev sidecar does not implement with
/// Unimplemented and a message naming the method (instead of Grpc.AspNetCore's generic one).
/// </summary>
public sealed class GrpcFallbackMiddleware(RequestDelegate next)
{
    private const string Prefix = "/" + DaprGrpcService.ServiceName + "/";

    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        if (IsGrpc(context.Request) && path.StartsWith(Prefix, StringComparison.Ordinal)
            && !DaprGrpcService.Implemented.Contains(path[Prefix.Length..]))
        {
            return WriteStatus(context, 12, $"the Dapr dev sidecar does not implement {DaprGrpcService.ServiceName}/{path[Prefix.Length..]}");
        }

        return next(context);
    }

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
