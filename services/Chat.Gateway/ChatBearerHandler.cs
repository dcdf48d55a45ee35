using System.Security.Claims;
using System.Text.Encodings.Web;
using Chat.ServiceDefaults.Auth;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Chat.Gateway;

/// <summary>The gateway's authentication scheme name.</summary>
public static class ChatBearerDefaults
{
    public const string Scheme = "ChatBearer";
}

/// <summary>
/// Validates the chat access token (the same HS256 JWT every service checks) from the
/// <c>Authorization: Bearer</c> header, or from the <c>access_token</c> query string, which is
/// how browsers pass it on a WebSocket upgrade.
/// </summary>
public sealed class ChatBearerHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ChatTokenService tokens)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var token = ReadToken(Request);
        if (string.IsNullOrEmpty(token))
        {
            return AuthenticateResult.NoResult();
        }

        if (!tokens.IsReady)
        {
            // Right after start-up the signing key may still be on its way from the secret store.
            try
            {
                await tokens.WaitUntilReadyAsync(Context.RequestAborted).WaitAsync(TimeSpan.FromSeconds(10), Context.RequestAborted);
            }
            catch (TimeoutException)
            {
                return AuthenticateResult.Fail("The gateway is starting; retry shortly.");
            }
        }

        var user = tokens.Validate(token);
        if (user is null)
        {
            return AuthenticateResult.Fail("The access token is invalid or expired.");
        }

        var identity = new ClaimsIdentity(
        [
            new Claim(ClaimTypes.NameIdentifier, user.UserId),
            new Claim("did", user.DeviceId),
            new Claim(ClaimTypes.Name, user.UserName),
        ], ChatBearerDefaults.Scheme);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), ChatBearerDefaults.Scheme));
    }

    /// <summary>
    /// A refused request gets 401 with the reason, as RFC 6750 puts it
    /// (<c>WWW-Authenticate: Bearer error="invalid_token", error_description="…"</c>), and the same
    /// reason as a JSON body <c>{"code":"unauthenticated","message":"…"}</c>.
    /// </summary>
    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var hasToken = !string.IsNullOrEmpty(ReadToken(Request));
        var reason = hasToken
            ? "The access token is invalid or expired; refresh it and connect again."
            : "No access token: send Authorization: Bearer <token>, or access_token in the query string on a WebSocket upgrade.";
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = hasToken ? $"Bearer error=\"invalid_token\", error_description=\"{reason}\"" : "Bearer";
        return Response.WriteAsJsonAsync(new { code = Chat.Domain.ErrorCodes.Unauthenticated, message = reason });
    }

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
}
