using System.Security.Cryptography;
using Chat.Contracts.V1;
using Chat.Domain;
using Chat.Integration.Tests.Infrastructure;
using Chat.ServiceDefaults.Auth;
using Grpc.Core;

namespace Chat.Integration.Tests;

/// <summary>Register, login, refresh rotation and token checks, through Dapr gRPC proxying.</summary>
[Trait("Area", "Conversations")]
[Collection(DirectoryCollection.Name)]
public sealed class DirectoryAccountTests(DirectoryFixture fx)
{
    [Fact]
    public async Task Register_login_and_refresh_issue_working_tokens_and_a_replayed_refresh_token_fails()
    {
        var alice = await fx.RegisterAsync("alice");
        Assert.StartsWith("u", alice.UserId, StringComparison.Ordinal);
        Assert.True(Identifiers.IsValidId(alice.UserId));

        var me = await fx.Directory.GetPrivacySettingsAsync(new GetPrivacySettingsRequest(), alice.Auth);
        Assert.Equal(LastSeenVisibility.Everyone, me.Settings.LastSeen);
        Assert.True(me.Settings.ReadReceipts);
        Assert.True(me.Settings.PushPreviews);

        var login = await fx.Directory.LoginAsync(new LoginRequest { UserName = alice.UserName, Password = DirUser.Password, DeviceId = "laptop" });
        Assert.Equal(alice.UserId, login.Tokens.UserId);
        Assert.Equal(alice.UserName, login.Profile.UserName);
        var fromLogin = new ChatTokenService(fx.SigningKey).Validate(login.Tokens.AccessToken);
        Assert.Equal(new ChatUser(alice.UserId, "laptop", alice.UserName), fromLogin);

        var refreshed = await fx.Directory.RefreshAsync(new RefreshRequest { RefreshToken = login.Tokens.RefreshToken });
        Assert.NotEqual(login.Tokens.RefreshToken, refreshed.Tokens.RefreshToken);
        Assert.Equal(alice.UserId, refreshed.Tokens.UserId);
        await fx.Directory.ListDevicesAsync(new ListDevicesRequest(), DirUser.Bearer(refreshed.Tokens.AccessToken));

        var replay = await Assert.ThrowsAsync<RpcException>(() => fx.Directory.RefreshAsync(new RefreshRequest { RefreshToken = login.Tokens.RefreshToken }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, replay.StatusCode);
        Assert.Contains("already used", replay.Status.Detail, StringComparison.Ordinal);

        // The rotated token still works once.
        await fx.Directory.RefreshAsync(new RefreshRequest { RefreshToken = refreshed.Tokens.RefreshToken });
    }

    [Fact]
    public async Task Concurrent_uses_of_one_refresh_token_yield_exactly_one_new_token_pair()
    {
        var bob = await fx.RegisterAsync("bob");
        var attempts = await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            try
            {
                return (await fx.Directory.RefreshAsync(new RefreshRequest { RefreshToken = bob.Tokens.RefreshToken })).Tokens;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unauthenticated)
            {
                return null;
            }
        }));

        Assert.Single(attempts, t => t is not null);
    }

    [Fact]
    public async Task Wrong_password_or_unknown_user_cannot_log_in()
    {
        var carol = await fx.RegisterAsync("carol");
        var wrong = await Assert.ThrowsAsync<RpcException>(() =>
            fx.Directory.LoginAsync(new LoginRequest { UserName = carol.UserName, Password = "not the password", DeviceId = "d1" }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);
        Assert.Equal("Wrong user name or password.", wrong.Status.Detail);

        var unknown = await Assert.ThrowsAsync<RpcException>(() =>
            fx.Directory.LoginAsync(new LoginRequest { UserName = fx.NewUserName("nobody"), Password = DirUser.Password, DeviceId = "d1" }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, unknown.StatusCode);
        Assert.Equal(wrong.Status.Detail, unknown.Status.Detail);
    }

    [Fact]
    public async Task Concurrent_registrations_of_one_name_let_exactly_one_win()
    {
        var name = fx.NewUserName("race");
        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(async i =>
        {
            try
            {
                await fx.Directory.RegisterAsync(new RegisterRequest { UserName = name, Password = DirUser.Password, DeviceId = $"d{i}" });
                return StatusCode.OK;
            }
            catch (RpcException ex)
            {
                return ex.StatusCode;
            }
        }));

        Assert.Single(results, s => s == StatusCode.OK);
        Assert.All(results.Where(s => s != StatusCode.OK), s => Assert.Equal(StatusCode.AlreadyExists, s));
        var found = await fx.Directory.FindUserAsync(new FindUserRequest { UserName = name }, (await fx.RegisterAsync()).Auth);
        Assert.Equal(name, found.Profile.UserName);
    }

    [Fact]
    public async Task Missing_forged_foreign_and_expired_tokens_are_Unauthenticated()
    {
        var dave = await fx.RegisterAsync("dave");
        var daveUser = new ChatUser(dave.UserId, dave.DeviceId, dave.UserName);
        var parts = dave.Tokens.AccessToken.Split('.');
        var forgedSignature = $"{parts[0]}.{parts[1]}.{parts[2][..^4]}AAAA";
        var foreignKey = new ChatTokenService(RandomNumberGenerator.GetBytes(32)).IssueAccessToken(daveUser, out _);
        var expired = new ChatTokenService(fx.SigningKey, time: new PastTime(TimeSpan.FromMinutes(20))).IssueAccessToken(daveUser, out _);

        foreach (var (what, metadata) in new[]
        {
            ("no token", new Metadata()),
            ("not bearer", new Metadata { { "authorization", "Basic abc" } }),
            ("forged signature", DirUser.Bearer(forgedSignature)),
            ("other key", DirUser.Bearer(foreignKey)),
            ("expired", DirUser.Bearer(expired)),
            ("garbage", DirUser.Bearer("a.b.c")),
        })
        {
            var ex = await Assert.ThrowsAsync<RpcException>(() => fx.Directory.ListDevicesAsync(new ListDevicesRequest(), metadata).ResponseAsync);
            Assert.True(ex.StatusCode == StatusCode.Unauthenticated, $"{what}: {ex.StatusCode} {ex.Status.Detail}");
            Assert.Equal(ErrorCodes.Unauthenticated, ex.ErrorCode());
        }

        // A token the test mints with the key from the secret store is accepted: the app read that key.
        var minted = new ChatTokenService(fx.SigningKey).IssueAccessToken(daveUser, out _);
        await fx.Directory.ListDevicesAsync(new ListDevicesRequest(), DirUser.Bearer(minted));
    }

    [Fact]
    public async Task Profiles_privacy_and_devices_belong_to_the_caller()
    {
        var erin = await fx.RegisterAsync("erin");
        var updated = await fx.Directory.UpdateProfileAsync(new UpdateProfileRequest { DisplayName = "Erin E.", AvatarUri = "https://example.test/erin.png" }, erin.Auth);
        Assert.Equal("Erin E.", updated.Profile.DisplayName);

        var privacy = await fx.Directory.UpdatePrivacySettingsAsync(new UpdatePrivacySettingsRequest
        {
            Settings = new PrivacySettings { LastSeen = LastSeenVisibility.Contacts, ReadReceipts = false, PushPreviews = true },
        }, erin.Auth);
        Assert.Equal(LastSeenVisibility.Contacts, privacy.Settings.LastSeen);
        Assert.Equal(privacy.Settings, (await fx.Directory.GetPrivacySettingsAsync(new GetPrivacySettingsRequest(), erin.Auth)).Settings);

        await fx.Directory.RegisterDeviceAsync(new RegisterDeviceRequest { Device = new Device { DeviceId = "phone", Platform = PushPlatform.Fcm, PushToken = "fcm-1" } }, erin.Auth);
        await fx.Directory.RegisterDeviceAsync(new RegisterDeviceRequest { Device = new Device { DeviceId = "phone", Platform = PushPlatform.Fcm, PushToken = "fcm-2" } }, erin.Auth);
        await fx.Directory.RegisterDeviceAsync(new RegisterDeviceRequest
        {
            Device = new Device { DeviceId = "browser", Platform = PushPlatform.Webpush, WebPush = new WebPushSubscription { Endpoint = "https://fcm.googleapis.com/fcm/send/x", P256Dh = "key", Auth = "auth" } },
        }, erin.Auth);
        var devices = (await fx.Directory.ListDevicesAsync(new ListDevicesRequest(), erin.Auth)).Devices;
        Assert.Equal(["fcm-2", ""], devices.OrderBy(d => d.DeviceId, StringComparer.Ordinal).Reverse().Select(d => d.PushToken));

        var other = await fx.RegisterAsync("frank");
        Assert.Empty((await fx.Directory.ListDevicesAsync(new ListDevicesRequest(), other.Auth)).Devices);
        var profiles = await fx.Directory.GetProfilesAsync(new GetProfilesRequest { UserIds = { erin.UserId, other.UserId, "uNOSUCHUSER0000" } }, other.Auth);
        Assert.Equal([erin.UserId, other.UserId], profiles.Profiles.Select(p => p.UserId));
        Assert.Equal("Erin E.", profiles.Profiles[0].DisplayName);

        Assert.True((await fx.Directory.UnregisterDeviceAsync(new UnregisterDeviceRequest { DeviceId = "phone" }, erin.Auth)).Removed);
        Assert.False((await fx.Directory.UnregisterDeviceAsync(new UnregisterDeviceRequest { DeviceId = "phone" }, erin.Auth)).Removed);
    }

    private sealed class PastTime(TimeSpan ago) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => DateTimeOffset.UtcNow - ago;
    }
}
