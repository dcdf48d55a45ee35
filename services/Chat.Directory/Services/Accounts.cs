using System.Security.Cryptography;
using System.Text;
using Chat.Contracts.V1;
using Chat.Directory.State;
using Chat.Domain;
using Chat.ServiceDefaults.Auth;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Chat.Directory.Services;

/// <summary>Registration, login and refresh-token rotation.</summary>
public sealed class Accounts(DirectoryCore core, ChatTokenService tokens, IOptionsMonitor<DirectoryOptions> options)
{
    private const string BadCredentials = "Wrong user name or password.";
    private const string BadRefreshToken = "The refresh token is unknown, expired or already used; log in again.";

    public async Task<RegisterResponse> RegisterAsync(RegisterRequest request, CancellationToken ct)
    {
        ChatStatus.ThrowIfInvalid(ChatValidation.UserName(request.UserName));
        ChatStatus.ThrowIfInvalid(ChatValidation.Password(request.Password));
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(request.DeviceId, "Device id"));
        if (request.DisplayName.Length > 0)
        {
            ChatStatus.ThrowIfInvalid(ChatValidation.DisplayName(request.DisplayName));
        }

        var user = new UserRecord
        {
            UserId = Ids.NewUserId(),
            UserName = request.UserName,
            DisplayName = request.DisplayName.Length > 0 ? request.DisplayName : request.UserName,
            PasswordHash = PasswordHashing.Hash(request.Password, options.CurrentValue.PasswordHashIterations),
            CreatedAt = core.Now,
        };

        await InsertUserAsync(user, ct);
        return new RegisterResponse { Profile = core.ToProfile(user), Tokens = await IssueAsync(user, request.DeviceId, ct) };
    }

    /// <summary>Stores a new account and claims its user name (AlreadyExists when the name is taken).</summary>
    public async Task InsertUserAsync(UserRecord user, CancellationToken ct)
    {
        // The user record first, the name claim second: a crash in between leaves an
        // unreachable record, never a name pointing at no one.
        if (!await core.State.TryInsertAsync(DirectoryKeys.User(user.UserId), user, null, ct))
        {
            throw new RpcException(new Status(StatusCode.Aborted, "A generated user id collided; try again."));
        }

        if (!await core.State.TryInsertAsync(DirectoryKeys.UserName(user.UserName), new UserNameRecord { UserId = user.UserId }, null, ct))
        {
            await core.State.DeleteAsync(DirectoryKeys.User(user.UserId), ct);
            throw ChatStatus.Create(StatusCode.AlreadyExists, ErrorCodes.UserNameTaken, $"The user name '{user.UserName}' is taken.");
        }
    }

    public async Task<LoginResponse> LoginAsync(LoginRequest request, CancellationToken ct)
    {
        ChatStatus.ThrowIfInvalid(ChatValidation.Id(request.DeviceId, "Device id"));
        if (ChatValidation.UserName(request.UserName) is not null || request.Password.Length is 0 or > ChatLimits.MaxPasswordLength)
        {
            throw ChatStatus.Unauthenticated(BadCredentials);
        }

        var name = (await core.State.GetAsync<UserNameRecord>(DirectoryKeys.UserName(request.UserName), ct)).Value;
        var user = name is null ? null : (await core.State.GetAsync<UserRecord>(DirectoryKeys.User(name.UserId), ct)).Value;

        // Verify even for an unknown name (against a dummy hash) so both cases take as long.
        if (!PasswordHashing.Verify(request.Password, user?.PasswordHash) || user is null)
        {
            throw ChatStatus.Unauthenticated(BadCredentials);
        }

        return new LoginResponse { Profile = core.ToProfile(user), Tokens = await IssueAsync(user, request.DeviceId, ct) };
    }

    public async Task<RefreshResponse> RefreshAsync(RefreshRequest request, CancellationToken ct)
    {
        if (request.RefreshToken.Length is 0 or > 200)
        {
            throw ChatStatus.Unauthenticated(BadRefreshToken);
        }

        var key = DirectoryKeys.RefreshToken(HashToken(request.RefreshToken));
        var (record, etag) = await core.State.GetAsync<RefreshTokenRecord>(key, ct);
        if (record is null || etag is null || record.ExpiresAt <= core.Now)
        {
            throw ChatStatus.Unauthenticated(BadRefreshToken);
        }

        // Single use: only the caller whose ETag-guarded delete succeeds gets new tokens, so a
        // replayed (or concurrently reused) refresh token fails.
        if (!await core.State.TryDeleteAsync(key, etag, ct))
        {
            throw ChatStatus.Unauthenticated(BadRefreshToken);
        }

        var user = (await core.State.GetAsync<UserRecord>(DirectoryKeys.User(record.UserId), ct)).Value
            ?? throw ChatStatus.Unauthenticated("The account of this refresh token no longer exists.");
        return new RefreshResponse { Tokens = await IssueAsync(user, record.DeviceId, ct) };
    }

    private async Task<AuthTokens> IssueAsync(UserRecord user, string deviceId, CancellationToken ct)
    {
        var access = tokens.IssueAccessToken(new ChatUser(user.UserId, deviceId, user.UserName), out var accessExpires);
        var refresh = Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        var lifetime = options.CurrentValue.RefreshTokenLifetime;
        var refreshExpires = core.Now + lifetime;
        var record = new RefreshTokenRecord { UserId = user.UserId, DeviceId = deviceId, ExpiresAt = refreshExpires };
        if (!await core.State.TryInsertAsync(DirectoryKeys.RefreshToken(HashToken(refresh)), record, lifetime, ct))
        {
            throw new RpcException(new Status(StatusCode.Aborted, "A generated refresh token collided; try again."));
        }

        return new AuthTokens
        {
            UserId = user.UserId,
            AccessToken = access,
            AccessTokenExpiresAt = Timestamp.FromDateTimeOffset(accessExpires),
            RefreshToken = refresh,
            RefreshTokenExpiresAt = Timestamp.FromDateTimeOffset(refreshExpires),
        };
    }

    private static string HashToken(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private static string Base64UrlEncode(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
