using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Chat.ServiceDefaults.Auth;

/// <summary>What a media URL allows: one operation ("put" or "get") on one blob, until it expires.</summary>
public sealed record MediaGrant(string MediaId, string Operation, string ContentType, ulong MaxBytes, DateTimeOffset ExpiresAt)
{
    public const string Put = "put";
    public const string Get = "get";
}

/// <summary>
/// Media tokens: signed with the same key as access tokens but for another audience, so neither
/// passes for the other; messaging issues them, the gateway's blob endpoint checks them. No clock
/// skew: an expired URL is refused at once.
/// </summary>
public sealed partial class ChatTokenService
{
    /// <summary>Audience of media tokens.</summary>
    public const string MediaAudience = "chat-media";

    private const string MediaIdClaim = "mid";
    private const string OperationClaim = "op";
    private const string ContentTypeClaim = "ct";
    private const string MaxBytesClaim = "max";

    /// <summary>A token for <paramref name="grant"/>, to put in a URL's query.</summary>
    public string IssueMediaToken(MediaGrant grant)
    {
        ArgumentNullException.ThrowIfNull(grant);
        var now = _time.GetUtcNow();
        return _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = ChatAuthOptions.IssuerAndAudience,
            Audience = MediaAudience,
            IssuedAt = now.UtcDateTime,
            Expires = grant.ExpiresAt.UtcDateTime,
            SigningCredentials = new SigningCredentials(Key(), SecurityAlgorithms.HmacSha256),
            Claims = new Dictionary<string, object>
            {
                [MediaIdClaim] = grant.MediaId,
                [OperationClaim] = grant.Operation,
                [ContentTypeClaim] = grant.ContentType,
                [MaxBytesClaim] = grant.MaxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
        });
    }

    /// <summary>The grant of a valid, unexpired media token for <paramref name="mediaId"/> and <paramref name="operation"/>, else null.</summary>
    public MediaGrant? ValidateMediaToken(string? token, string mediaId, string operation)
    {
        if (string.IsNullOrWhiteSpace(token) || token.Length > 4096)
        {
            return null;
        }

        var parameters = new TokenValidationParameters
        {
            ValidIssuer = ChatAuthOptions.IssuerAndAudience,
            ValidAudience = MediaAudience,
            IssuerSigningKey = Key(),
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            LifetimeValidator = (_, expires, _, _) => expires is { } e && _time.GetUtcNow().UtcDateTime < e,
        };
        var result = _handler.ValidateTokenAsync(token, parameters).GetAwaiter().GetResult();
        if (!result.IsValid)
        {
            return null;
        }

        var c = result.ClaimsIdentity;
        var grant = new MediaGrant(
            c.FindFirst(MediaIdClaim)?.Value ?? "",
            c.FindFirst(OperationClaim)?.Value ?? "",
            c.FindFirst(ContentTypeClaim)?.Value ?? "",
            ulong.TryParse(c.FindFirst(MaxBytesClaim)?.Value, out var max) ? max : 0,
            result.SecurityToken.ValidTo);
        return grant.MediaId == mediaId && grant.Operation == operation ? grant : null;
    }
}
