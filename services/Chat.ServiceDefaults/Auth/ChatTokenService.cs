using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Chat.ServiceDefaults.Auth;

/// <summary>
/// Issues and validates the HS256 JWT access tokens of Chat.Dapr (issuer and audience
/// <c>chat-dapr</c>; claims <c>sub</c> user id, <c>did</c> device id, <c>name</c> user name,
/// <c>exp</c>, <c>jti</c>). The key is set once, from the Dapr secret store at start-up
/// (<see cref="ChatSigningKeyLoader"/>) or directly by tests.
/// </summary>
public sealed partial class ChatTokenService
{
    public const string DeviceClaim = "did";
    public const string NameClaim = "name";

    private readonly ChatAuthOptions _options;
    private readonly TimeProvider _time;
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false, MapInboundClaims = false };
    private readonly TaskCompletionSource<SymmetricSecurityKey> _key = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Tokens that passed validation, by the SHA-256 of their exact text, until they expire: a
    // connection sends the same token with every call, and parsing and checking it again cost a
    // service call more than its own work. Keyed by hash so a gateway's 100k connections do not
    // keep 100k token strings.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<TokenHash, (ChatUser User, DateTime Expires, DateTime NotBefore)> _validated = new();
    private const int MaxValidated = 200_000;

    private readonly record struct TokenHash(ulong A, ulong B, ulong C, ulong D)
    {
        public static TokenHash Of(string token)
        {
            Span<byte> hash = stackalloc byte[32];
            var bytes = System.Text.Encoding.UTF8.GetBytes(token);
            SHA256.HashData(bytes, hash);
            var words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(hash);
            return new TokenHash(words[0], words[1], words[2], words[3]);
        }
    }

    /// <summary>A service whose key comes later, through <see cref="SetSigningKey"/>.</summary>
    public ChatTokenService(IOptions<ChatAuthOptions> options, TimeProvider? time = null)
    {
        _options = options.Value;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>A service with its key known now (tests, tools).</summary>
    public ChatTokenService(byte[] signingKey, ChatAuthOptions? options = null, TimeProvider? time = null)
        : this(Options.Create(options ?? new ChatAuthOptions()), time)
    {
        SetSigningKey(signingKey);
    }

    /// <summary>True once the signing key is known.</summary>
    public bool IsReady => _key.Task.IsCompletedSuccessfully;

    /// <summary>Completes when the signing key is known; fails when loading it failed for good.</summary>
    public Task WaitUntilReadyAsync(CancellationToken cancellationToken = default) => _key.Task.WaitAsync(cancellationToken);

    /// <summary>Sets the HS256 key (at least 32 bytes). Only the first call counts.</summary>
    public void SetSigningKey(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length < ChatSigningKeys.MinKeyBytes)
        {
            throw new ArgumentException($"The JWT signing key has {key.Length} bytes; HS256 needs at least {ChatSigningKeys.MinKeyBytes}.", nameof(key));
        }

        _key.TrySetResult(new SymmetricSecurityKey(key.ToArray()));
    }

    /// <summary>Marks the key as not obtainable, so waiting callers fail instead of hanging.</summary>
    public void SetSigningKeyFailed(Exception error) => _key.TrySetException(error);

    /// <summary>Issues an access token for <paramref name="user"/>.</summary>
    public string IssueAccessToken(ChatUser user, out DateTimeOffset expiresAt)
    {
        ArgumentNullException.ThrowIfNull(user);
        var now = _time.GetUtcNow();
        expiresAt = now + _options.AccessTokenLifetime;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = ChatAuthOptions.IssuerAndAudience,
            Audience = ChatAuthOptions.IssuerAndAudience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expiresAt.UtcDateTime,
            SigningCredentials = new SigningCredentials(Key(), SecurityAlgorithms.HmacSha256),
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = user.UserId,
                [DeviceClaim] = user.DeviceId,
                [NameClaim] = user.UserName,
                [JwtRegisteredClaimNames.Jti] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
            },
        };
        return _handler.CreateToken(descriptor);
    }

    /// <summary>The user a token was issued to, or null when it is forged, expired or malformed.</summary>
    public ChatUser? Validate(string? token)
    {
        if (string.IsNullOrWhiteSpace(token) || token.Length > 8192)
        {
            return null;
        }

        var now = _time.GetUtcNow().UtcDateTime;
        var key = TokenHash.Of(token);
        if (_validated.TryGetValue(key, out var known))
        {
            if (InLifetime(now, known.Expires, known.NotBefore))
            {
                return known.User;
            }

            _validated.TryRemove(key, out _);
            return null;
        }

        var parameters = new TokenValidationParameters
        {
            ValidIssuer = ChatAuthOptions.IssuerAndAudience,
            ValidAudience = ChatAuthOptions.IssuerAndAudience,
            IssuerSigningKey = Key(),
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            ClockSkew = _options.ClockSkew,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            LifetimeValidator = (notBefore, expires, _, _) => expires is { } e && InLifetime(_time.GetUtcNow().UtcDateTime, e, notBefore ?? DateTime.MinValue),
        };

        // Validation is synchronous work here (HMAC, no key fetch), so waiting on it does not block on I/O.
        var result = _handler.ValidateTokenAsync(token, parameters).GetAwaiter().GetResult();
        if (!result.IsValid)
        {
            return null;
        }

        var claims = result.ClaimsIdentity;
        var sub = claims.FindFirst(JwtRegisteredClaimNames.Sub)?.Value;
        var did = claims.FindFirst(DeviceClaim)?.Value;
        var name = claims.FindFirst(NameClaim)?.Value;
        if (string.IsNullOrEmpty(sub) || string.IsNullOrEmpty(did) || name is null)
        {
            return null;
        }

        var user = new ChatUser(sub, did, name);
        if (_validated.Count >= MaxValidated)
        {
            ForgetExpired(now);
        }

        _validated[key] = (user, result.SecurityToken.ValidTo, result.SecurityToken.ValidFrom);
        return user;
    }

    private void ForgetExpired(DateTime now)
    {
        foreach (var (key, entry) in _validated)
        {
            if (!InLifetime(now, entry.Expires, entry.NotBefore))
            {
                _validated.TryRemove(key, out _);
            }
        }

        if (_validated.Count >= MaxValidated)
        {
            // That many live tokens in one process: start over rather than grow without bound.
            _validated.Clear();
        }
    }

    private bool InLifetime(DateTime now, DateTime expires, DateTime notBefore) =>
        now <= expires + _options.ClockSkew && (notBefore == DateTime.MinValue || now >= notBefore - _options.ClockSkew);

    private SymmetricSecurityKey Key() =>
        _key.Task.IsCompletedSuccessfully
            ? _key.Task.Result
            : throw new InvalidOperationException("The JWT signing key is not loaded yet (it is read from the Dapr secret store at start-up).");
}
