using Chat.Contracts.V1;
using Chat.Domain;
using Chat.Integration.Tests.Infrastructure;
using Chat.ServiceDefaults.Auth;
using Grpc.Core;

namespace Chat.Integration.Tests.Security;

/// <summary>
/// Directory's privacy and abuse controls through Dapr gRPC proxying: who may add me to groups,
/// Web Push endpoints on real push services only, and bounded, rate-limited lookups.
/// </summary>
[Trait("Area", "Security")]
[Collection(DirectoryCollection.Name)]
public sealed class DirectoryAbuseTests(DirectoryFixture fx)
{
    private DirectoryService.DirectoryServiceClient Dir => fx.Directory;

    [Fact]
    public async Task Group_add_privacy_nobody_and_contacts_are_enforced_on_create_and_add_naming_who_was_refused()
    {
        var alice = await fx.RegisterAsync("alice");
        var hermit = await fx.RegisterAsync("hermit");
        var picky = await fx.RegisterAsync("picky");
        var open = await fx.RegisterAsync("open");
        await SetGroupAddAsync(hermit, GroupAddPolicy.Nobody);
        await SetGroupAddAsync(picky, GroupAddPolicy.Contacts);
        Assert.Equal(GroupAddPolicy.Contacts, (await Dir.GetPrivacySettingsAsync(new GetPrivacySettingsRequest(), picky.Auth)).Settings.GroupAdd);

        // Creating a group with people who do not allow it fails as a whole, naming them.
        var denied = await Assert.ThrowsAsync<RpcException>(() =>
            Dir.CreateGroupAsync(new CreateGroupRequest { Title = "party", MemberIds = { open.UserId, hermit.UserId, picky.UserId } }, alice.Auth).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        Assert.Equal(ErrorCodes.GroupAddDenied, denied.ErrorCode());
        Assert.Contains(hermit.UserId, denied.Status.Detail, StringComparison.Ordinal);
        Assert.Contains(picky.UserId, denied.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(open.UserId, denied.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(await ConversationsOf(open), c => c.Kind == ConversationKind.Group);

        var group = (await Dir.CreateGroupAsync(new CreateGroupRequest { Title = "party", MemberIds = { open.UserId } }, alice.Auth)).Group;

        // "Contacts": only once alice and picky have a direct conversation.
        var notYet = await Assert.ThrowsAsync<RpcException>(() =>
            Dir.AddMembersAsync(new AddMembersRequest { GroupId = group.GroupId, UserIds = { picky.UserId } }, alice.Auth).ResponseAsync);
        Assert.Equal(ErrorCodes.GroupAddDenied, notYet.ErrorCode());
        Assert.Contains(picky.UserId, notYet.Status.Detail, StringComparison.Ordinal);
        await fx.Internal.EnsureDirectConversationAsync(new EnsureDirectConversationRequest { UserId = alice.UserId, PeerUserId = picky.UserId });
        var added = await Dir.AddMembersAsync(new AddMembersRequest { GroupId = group.GroupId, UserIds = { picky.UserId } }, alice.Auth);
        Assert.Equal([picky.UserId], added.AddedUserIds);

        // "Nobody" holds even for a contact.
        await fx.Internal.EnsureDirectConversationAsync(new EnsureDirectConversationRequest { UserId = alice.UserId, PeerUserId = hermit.UserId });
        var never = await Assert.ThrowsAsync<RpcException>(() =>
            Dir.AddMembersAsync(new AddMembersRequest { GroupId = group.GroupId, UserIds = { hermit.UserId } }, alice.Auth).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, never.StatusCode);
        Assert.Equal(ErrorCodes.GroupAddDenied, never.ErrorCode());
        Assert.Equal(3u, (await Dir.GetGroupAsync(new GetGroupRequest { GroupId = group.GroupId }, alice.Auth)).Group.MemberCount);

        // Creating a group of one's own is never refused by one's own setting.
        await Dir.CreateGroupAsync(new CreateGroupRequest { Title = "notes" }, hermit.Auth);
    }

    [Theory]
    [InlineData("http://fcm.googleapis.com/fcm/send/x")]
    [InlineData("https://127.0.0.1/push")]
    [InlineData("https://169.254.169.254/latest/meta-data/")]
    [InlineData("https://[::1]:8443/push")]
    [InlineData("https://localhost/push")]
    [InlineData("https://internal-relay.chat.svc.cluster.local/push")]
    [InlineData("https://attacker.example.com/push")]
    public async Task Web_push_endpoints_off_the_push_service_allow_list_are_refused(string endpoint)
    {
        var me = await fx.RegisterAsync("wp");
        var error = await Assert.ThrowsAsync<RpcException>(() => Dir.RegisterDeviceAsync(WebPushDevice(endpoint), me.Auth).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(ErrorCodes.InvalidPushEndpoint, error.ErrorCode());
        Assert.Empty((await Dir.ListDevicesAsync(new ListDevicesRequest(), me.Auth)).Devices);
    }

    [Fact]
    public async Task Web_push_endpoints_of_real_push_services_are_accepted()
    {
        var me = await fx.RegisterAsync("wp");
        var stored = await Dir.RegisterDeviceAsync(WebPushDevice("https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk"), me.Auth);
        Assert.Equal("https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk", stored.Device.WebPush.Endpoint);
    }

    [Fact]
    public async Task Lookups_are_bounded_per_call_and_rate_limited_per_caller_with_a_retry_after()
    {
        var me = await fx.RegisterAsync("look");
        var tooMany = await Assert.ThrowsAsync<RpcException>(() =>
            Dir.GetProfilesAsync(new GetProfilesRequest { UserIds = { Enumerable.Range(0, ChatLimits.MaxProfilesPerCall + 1).Select(i => $"u{i}") } }, me.Auth).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, tooMany.StatusCode);

        // 60 lookups per 60 s window by default: within two windows' worth one must be refused.
        RpcException? limited = null;
        for (var i = 0; i < 125 && limited is null; i++)
        {
            try
            {
                await Dir.FindUserAsync(new FindUserRequest { UserName = me.UserName }, me.Auth);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted)
            {
                limited = ex;
            }
        }

        Assert.NotNull(limited);
        Assert.Equal(ErrorCodes.RateLimited, limited.ErrorCode());
        Assert.True(long.TryParse(limited.Trailers.GetValue(ChatStatus.RetryAfterTrailer), out var ms) && ms is > 0 and <= 60_000, $"retry-after-ms: {ms}");
        // GetProfiles draws from the same allowance; other callers are not affected.
        await Assert.ThrowsAsync<RpcException>(() => Dir.GetProfilesAsync(new GetProfilesRequest { UserIds = { me.UserId } }, me.Auth).ResponseAsync);
        var other = await fx.RegisterAsync("look");
        Assert.Equal(me.UserId, (await Dir.FindUserAsync(new FindUserRequest { UserName = me.UserName }, other.Auth)).Profile.UserId);
    }

    [Fact]
    public async Task The_conversation_index_is_paged()
    {
        var owner = await fx.RegisterAsync("pg");
        for (var i = 0; i < 5; i++)
        {
            await Dir.CreateGroupAsync(new CreateGroupRequest { Title = $"g{i}" }, owner.Auth);
        }

        var seen = new List<string>();
        var token = "";
        var pages = 0;
        do
        {
            var page = await Dir.ListUserConversationsAsync(new ListUserConversationsRequest { PageSize = 2, PageToken = token }, owner.Auth);
            Assert.InRange(page.Conversations.Count, 1, 2);
            seen.AddRange(page.Conversations.Select(c => c.ConversationId));
            token = page.NextPageToken;
            pages++;
        }
        while (token.Length > 0);

        Assert.Equal(3, pages);
        Assert.Equal(5, seen.Distinct().Count());
        var bad = await Assert.ThrowsAsync<RpcException>(() => Dir.ListUserConversationsAsync(new ListUserConversationsRequest { PageSize = 501 }, owner.Auth).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, bad.StatusCode);
    }

    private static RegisterDeviceRequest WebPushDevice(string endpoint) => new()
    {
        Device = new Device
        {
            DeviceId = "browser",
            Platform = PushPlatform.Webpush,
            WebPush = new WebPushSubscription { Endpoint = endpoint, P256Dh = "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM", Auth = "tBHItJI5svbpez7KI4CCXg" },
        },
    };

    private async Task SetGroupAddAsync(DirUser user, GroupAddPolicy policy) =>
        await Dir.UpdatePrivacySettingsAsync(new UpdatePrivacySettingsRequest
        {
            Settings = new PrivacySettings { LastSeen = LastSeenVisibility.Everyone, ReadReceipts = true, PushPreviews = true, GroupAdd = policy },
        }, user.Auth);

    private async Task<IReadOnlyList<UserConversation>> ConversationsOf(DirUser user) =>
        (await Dir.ListUserConversationsAsync(new ListUserConversationsRequest(), user.Auth)).Conversations;
}
