using System.Security.Claims;
using Chat.Domain;
using Chat.ServiceDefaults.Auth;
using Microsoft.AspNetCore.SignalR;

namespace Chat.Gateway;

/// <summary>
/// Who may call a hub: every request to a hub's endpoints (negotiate and each transport) carries
/// a valid chat access token (the same HS256 JWT every service checks), from the
/// <c>Authorization: Bearer</c> header or from the <c>access_token</c> query string, which is how
/// browsers pass it on a WebSocket upgrade. Anything else gets 401 with the reason.
/// </summary>
/// <remarks>
/// Plain middleware rather than an authentication scheme with <c>[Authorize]</c>: a WebSocket's
/// request lives as long as its connection, and the scheme kept the request's DI scope (with its
/// handlers and tickets) and the authentication and authorization middlewares' frames alive for
/// every idle connection (docs/benchmarks.md, nineteenth pass). This one is synchronous once the
/// signing key is loaded, so an open connection keeps nothing of it but its user.
/// </remarks>
public sealed class HubAuthenticationMiddleware(RequestDelegate next, ChatTokenService tokens)
{
    // How long a request waits for the signing key right after start-up.
    private static readonly TimeSpan StartupWait = TimeSpan.FromSeconds(10);

    public Task InvokeAsync(HttpContext context)
    {
        if (!IsHubRequest(context))
        {
            return next(context);
        }

        var token = ReadToken(context.Request);
        if (string.IsNullOrEmpty(token))
        {
            return ChallengeAsync(context, hasToken: false);
        }

        return tokens.IsReady ? Authenticate(context, token) : AuthenticateWhenReadyAsync(context, token);
    }

    /// <summary>True for a request to one of a hub's endpoints (negotiate or a transport).</summary>
    public static bool IsHubRequest(HttpContext context) => context.GetEndpoint()?.Metadata.GetMetadata<HubMetadata>() is not null;

    /// <summary>The raw token of a request, from the header or the query string.</summary>
    public static string? ReadToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return header["Bearer ".Length..].Trim();
        }

        var query = request.Query["access_token"].ToString();
        return string.IsNullOrEmpty(query) ? null : query;
    }

    /// <summary>The chat user of an authenticated principal.</summary>
    public static ChatUser? ToChatUser(ClaimsPrincipal? principal)
    {
        var id = principal?.FindFirstValue(ClaimTypes.NameIdentifier);
        return id is null || principal is null ? null : new ChatUser(id, principal.FindFirstValue("did") ?? "", principal.FindFirstValue(ClaimTypes.Name) ?? "");
    }

    private Task Authenticate(HttpContext context, string token)
    {
        if (tokens.Validate(token) is not { } user)
        {
            return ChallengeAsync(context, hasToken: true);
        }

        context.User = new ClaimsPrincipal(new ClaimsIdentity(
        [
            new Claim(ClaimTypes.NameIdentifier, user.UserId),
            new Claim("did", user.DeviceId),
            new Claim(ClaimTypes.Name, user.UserName),
        ], authenticationType: "ChatBearer"));
        return next(context);
    }

    private async Task AuthenticateWhenReadyAsync(HttpContext context, string token)
    {
        try
        {
            // Right after start-up the signing key may still be on its way from the secret store.
            await tokens.WaitUntilReadyAsync(context.RequestAborted).WaitAsync(StartupWait, context.RequestAborted);
        }
        catch (TimeoutException)
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = "1";
            await context.Response.WriteAsJsonAsync(new { code = ErrorCodes.Unavailable, message = "The gateway is starting; retry shortly." });
            return;
        }

        await Authenticate(context, token);
    }

    /// <summary>
    /// 401 with the reason, as RFC 6750 puts it (<c>WWW-Authenticate: Bearer error="invalid_token",
    /// error_description="…"</c>), and the same reason as a JSON body <c>{"code":"unauthenticated","message":"…"}</c>.
    /// </summary>
    private static Task ChallengeAsync(HttpContext context, bool hasToken)
    {
        var reason = hasToken
            ? "The access token is invalid or expired; refresh it and connect again."
            : "No access token: send Authorization: Bearer <token>, or access_token in the query string on a WebSocket upgrade.";
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = hasToken ? $"Bearer error=\"invalid_token\", error_description=\"{reason}\"" : "Bearer";
        return context.Response.WriteAsJsonAsync(new { code = ErrorCodes.Unauthenticated, message = reason });
    }
}
