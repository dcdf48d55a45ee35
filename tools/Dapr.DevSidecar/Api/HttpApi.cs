using Dapr.DevSidecar.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Dapr.DevSidecar.Api;

/// <summary>
/// The sidecar's HTTP API under <c>/v1.0</c>. Each building block maps its routes in its own
/// file (a <c>Map…</c> method called from here).
/// </summary>
public static partial class HttpApi
{
    public static void Map(WebApplication app, SidecarContext context)
    {
        var v1 = app.MapGroup("/v1.0");
        // daprd answers 204 once it is ready (app channel up, subscriptions in place); outbound does not wait on the app.
        v1.MapGet("/healthz", (HttpContext http) => SidecarReadiness.IsReady(http.RequestServices)
            ? Results.NoContent()
            : DaprApiException.Internal("ERR_HEALTH_NOT_READY", "dapr is not ready").ToHttpResult());
        v1.MapGet("/healthz/outbound", () => Results.NoContent());
        MapState(v1, context);
        MapPubSub(v1, context);
        MapBindings(v1, context);
        MapSecrets(v1, context);
        MapMetadata(v1, context);
        MapInvocation(v1, context);
        MapActors(v1, context);
        MapBulkPublish(app, context);
    }

    /// <summary>Routes outside <c>/v1.0</c> (bulk publish is also under <c>/v1.0-alpha1</c>).</summary>
    static partial void MapBulkPublish(IEndpointRouteBuilder app, SidecarContext context);

    static partial void MapState(RouteGroupBuilder v1, SidecarContext context);

    static partial void MapPubSub(RouteGroupBuilder v1, SidecarContext context);

    static partial void MapBindings(RouteGroupBuilder v1, SidecarContext context);

    static partial void MapSecrets(RouteGroupBuilder v1, SidecarContext context);

    static partial void MapMetadata(RouteGroupBuilder v1, SidecarContext context);

    static partial void MapInvocation(RouteGroupBuilder v1, SidecarContext context);

    static partial void MapActors(RouteGroupBuilder v1, SidecarContext context);
}
