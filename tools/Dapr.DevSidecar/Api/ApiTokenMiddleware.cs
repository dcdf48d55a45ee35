using System.Security.Cryptography;
using System.Text;
using Dapr.DevSidecar.Hosting;
using Microsoft.AspNetCore.Http;

namespace Dapr.DevSidecar.Api;

/// <summary>
/// When DAPR_API_TOKEN is configured, every call except the health endpoints must carry it in
/// the <c>dapr-api-token</c> header (gRPC metadata is the same header), as daprd requires.
/// </summary>
public sealed class ApiTokenMiddleware(RequestDelegate next, SidecarContext sidecar)
{
    public const string HeaderName = "dapr-api-token";

    public Task InvokeAsync(HttpContext context)
    {
        var expected = sidecar.Options.ApiToken;
        if (string.IsNullOrEmpty(expected) || context.Request.Path.StartsWithSegments("/v1.0/healthz", StringComparison.OrdinalIgnoreCase))
        {
            return next(context);
        }

        var given = context.Request.Headers[HeaderName].ToString();
        if (given.Length > 0 && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(expected)))
        {
            return next(context);
        }

        const string message = "authentication error: api token mismatch";
        if (GrpcFallbackMiddleware.IsGrpc(context.Request))
        {
            return GrpcFallbackMiddleware.WriteStatus(context, 16, message);
        }

        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        return context.Response.WriteAsJsonAsync(new { errorCode = "ERR_UNAUTHORIZED", message });
    }
}
