using Dapr.DevSidecar.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Dapr.DevSidecar.Api;

public static partial class HttpApi
{
    static partial void MapMetadata(RouteGroupBuilder v1, SidecarContext context)
    {
        v1.MapGet("/metadata", (HttpContext http) => Results.Json(MetadataApi.ToHttpJson(MetadataApi.Build(context, http.RequestServices))));

        v1.MapPost("/shutdown", (HttpContext http) =>
        {
            ShutdownAfterResponse(http, context);
            return Results.NoContent();
        });
    }

    /// <summary>Cancels <see cref="SidecarContext.ShutdownRequested"/> once the current response has been sent.</summary>
    internal static void ShutdownAfterResponse(HttpContext http, SidecarContext sidecar) =>
        http.Response.OnCompleted(() => sidecar.ShutdownRequested.CancelAsync());
}
