using Dapr.DevSidecar.Hosting;
using Dapr.DevSidecar.Secrets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Dapr.DevSidecar.Api;

public static partial class HttpApi
{
    static partial void MapSecrets(RouteGroupBuilder v1, SidecarContext context)
    {
        // "bulk" is mapped first so it is not read as a secret named "bulk" (as daprd's routes).
        v1.MapGet("/secrets/{storeName}/bulk", (string storeName, HttpRequest request) => DaprErrors.Http(async () =>
            Results.Json(await new SecretsApi(context).GetBulkAsync(storeName, QueryMetadata(request), request.HttpContext.RequestAborted))));

        v1.MapGet("/secrets/{storeName}/{name}", (string storeName, string name, HttpRequest request) => DaprErrors.Http(async () =>
            Results.Json(await new SecretsApi(context).GetAsync(storeName, name, QueryMetadata(request), request.HttpContext.RequestAborted))));
    }
}
