using Chat.Domain;
using Chat.ServiceDefaults.Boundary;
using Dapr;
using Dapr.Client;

namespace Chat.Gateway.WebClient;

/// <summary>Answer of <c>GET /api/push/vapid-public-key</c>.</summary>
/// <param name="PublicKey">The VAPID application server key (base64url, uncompressed P-256 point) for <c>PushManager.subscribe</c>.</param>
public sealed record VapidKeyResult(string PublicKey);

/// <summary>
/// Serves the VAPID public key that browsers subscribe to Web Push with. Public (no token): the
/// key is public by design, the same for every user, and a page may need it before sign-in.
/// It is read from <c>chat-secrets</c> (where the delivery app reads its private half) and kept.
/// </summary>
public static class PushKeyEndpoint
{
    public const string Route = "/api/push/vapid-public-key";

    public static void MapPushKey(this IEndpointRouteBuilder app)
    {
        string? cached = null;
        app.MapGet(Route, async (DaprClient dapr, HttpContext http, CancellationToken ct) =>
        {
            if (cached is null)
            {
                try
                {
                    var secret = await dapr.GetSecretAsync(DaprNames.Secrets.Store, DaprNames.Secrets.VapidPublicKey, cancellationToken: ct);
                    cached = secret.GetValueOrDefault(DaprNames.Secrets.VapidPublicKey) is { Length: > 0 } key ? key : null;
                }
                catch (DaprException)
                {
                    return Results.Json(new ApiError(ErrorCodes.Unavailable, "The push key is briefly unavailable; try again."), statusCode: StatusCodes.Status503ServiceUnavailable);
                }
            }

            if (cached is null)
            {
                return Results.Json(new ApiError(ErrorCodes.NotFound, "Web Push is not configured (no vapid-public-key in chat-secrets)."), statusCode: StatusCodes.Status404NotFound);
            }

            http.Response.Headers.CacheControl = "public, max-age=3600";
            return Results.Ok(new VapidKeyResult(cached));
        }).ForClients();
    }
}
