using Chat.Contracts.V1;
using Chat.Domain;
using Chat.Integration.Tests.Infrastructure;
using Grpc.Core;

namespace Chat.Integration.Tests;

/// <summary>DirectoryInternalService, called by another service (messaging) through its sidecar.</summary>
[Trait("Area", "Conversations")]
[Collection(DirectoryCollection.Name)]
public sealed class DirectoryInternalTests(DirectoryFixture fx)
{
    [Fact]
    public async Task Direct_conversations_are_ensured_once_and_show_in_members_indexes_and_presence_rules()
    {
        var a = await fx.RegisterAsync("dma");
        var b = await fx.RegisterAsync("dmb");
        var stranger = await fx.RegisterAsync("dmc");
        var cid = ConversationId.Direct(a.UserId, b.UserId).Value;

        var before = await fx.Internal.GetMembersAsync(new GetMembersRequest { ConversationId = cid });
        Assert.False(before.Exists);
        Assert.Empty(before.MemberIds);

        var first = await fx.Internal.EnsureDirectConversationAsync(new EnsureDirectConversationRequest { UserId = b.UserId, PeerUserId = a.UserId });
        var again = await fx.Internal.EnsureDirectConversationAsync(new EnsureDirectConversationRequest { UserId = a.UserId, PeerUserId = b.UserId });
        Assert.Equal(cid, first.ConversationId);
        Assert.True(first.Created);
        Assert.False(again.Created);

        var members = await fx.Internal.GetMembersAsync(new GetMembersRequest { ConversationId = cid });
        Assert.True(members.Exists);
        Assert.Equal(ConversationKind.Direct, members.Kind);
        Assert.Equal(new[] { a.UserId, b.UserId }.Order(StringComparer.Ordinal), members.MemberIds);

        var index = (await fx.Internal.GetUserConversationsAsync(new GetUserConversationsRequest { UserId = a.UserId })).Conversations;
        var entry = Assert.Single(index, c => c.ConversationId == cid);
        Assert.Equal(b.UserId, entry.PeerUserId);

        // Users who share a conversation are contacts; a stranger is not.
        var rules = await fx.Internal.GetPresenceRulesAsync(new GetPresenceRulesRequest { ViewerId = a.UserId, UserIds = { b.UserId, stranger.UserId, "uNOSUCHUSER0000" } });
        Assert.Equal(LastSeenVisibility.Everyone, rules.ViewerLastSeen);
        Assert.Equal([(b.UserId, true), (stranger.UserId, false)], rules.Rules.Select(r => (r.UserId, r.IsContact)));

        // Only members see a direct conversation's members.
        var seen = await fx.Directory.GetConversationMembersAsync(new GetConversationMembersRequest { ConversationId = cid }, a.Auth);
        Assert.Equal(2, seen.MemberIds.Count);
        var denied = await Assert.ThrowsAsync<RpcException>(() => fx.Directory.GetConversationMembersAsync(new GetConversationMembersRequest { ConversationId = cid }, stranger.Auth).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
    }

    [Fact]
    public async Task Group_membership_makes_contacts_and_push_targets_follow_devices_and_settings()
    {
        var owner = await fx.RegisterAsync("pto");
        var muted = await fx.RegisterAsync("ptm");
        var group = (await fx.Directory.CreateGroupAsync(new CreateGroupRequest { Title = "Push", MemberIds = { muted.UserId } }, owner.Auth)).Group;
        await fx.Directory.RegisterDeviceAsync(new RegisterDeviceRequest { Device = new Device { DeviceId = "ios", Platform = PushPlatform.Apns, PushToken = "abcd", ApnsTopic = "app.chat" } }, muted.Auth);
        await fx.Directory.SetConversationSettingsAsync(new SetConversationSettingsRequest { ConversationId = group.ConversationId, Settings = new ConversationSettings { Muted = true, HidePreviews = true } }, muted.Auth);

        var members = await fx.Internal.GetMembersAsync(new GetMembersRequest { ConversationId = group.ConversationId });
        Assert.Equal(("Push", ConversationKind.Group, 2), (members.Title, members.Kind, members.MemberIds.Count));

        var targets = await fx.Internal.GetPushTargetsAsync(new GetPushTargetsRequest { ConversationId = group.ConversationId, SenderId = owner.UserId, UserIds = { muted.UserId, owner.UserId } });
        Assert.Equal("Push", targets.Title);
        Assert.Equal($"Dn {owner.UserName}", targets.SenderDisplayName);
        var t = targets.Targets.Single(x => x.UserId == muted.UserId);
        Assert.True(t.Muted);
        Assert.False(t.ShowPreviews);
        Assert.Equal("abcd", Assert.Single(t.Devices).PushToken);
        var o = targets.Targets.Single(x => x.UserId == owner.UserId);
        Assert.False(o.Muted);
        Assert.True(o.ShowPreviews);
        Assert.Empty(o.Devices);

        var rules = await fx.Internal.GetPresenceRulesAsync(new GetPresenceRulesRequest { ViewerId = owner.UserId, UserIds = { muted.UserId } });
        Assert.True(Assert.Single(rules.Rules).IsContact);

        // RemoveDevice only removes the registration while it still has the reported token.
        Assert.False((await fx.Internal.RemoveDeviceAsync(new RemoveDeviceRequest { UserId = muted.UserId, DeviceId = "ios", PushToken = "old-token" })).Removed);
        Assert.True((await fx.Internal.RemoveDeviceAsync(new RemoveDeviceRequest { UserId = muted.UserId, DeviceId = "ios", PushToken = "abcd" })).Removed);
        Assert.Empty((await fx.Directory.ListDevicesAsync(new ListDevicesRequest(), muted.Auth)).Devices);
    }

    [Fact]
    public async Task Internal_service_refuses_the_gateway_and_bad_input()
    {
        var viaGateway = new DirectoryInternalService.DirectoryInternalServiceClient(ChatRun.Through(fx.Gateway, DaprNames.Apps.Directory, DirectoryFixture.GatewayToken));
        var refused = await Assert.ThrowsAsync<RpcException>(() => viaGateway.GetUserConversationsAsync(new GetUserConversationsRequest { UserId = "u1" }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Contains("caller 'gateway'", refused.Status.Detail, StringComparison.Ordinal);

        var a = await fx.RegisterAsync("ens");
        var self = await Assert.ThrowsAsync<RpcException>(() => fx.Internal.EnsureDirectConversationAsync(new EnsureDirectConversationRequest { UserId = a.UserId, PeerUserId = a.UserId }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, self.StatusCode);
        var unknown = await Assert.ThrowsAsync<RpcException>(() => fx.Internal.EnsureDirectConversationAsync(new EnsureDirectConversationRequest { UserId = a.UserId, PeerUserId = "uNOSUCHUSER0000" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        var badId = await Assert.ThrowsAsync<RpcException>(() => fx.Internal.GetMembersAsync(new GetMembersRequest { ConversationId = "dm:only-one" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, badId.StatusCode);
        Assert.Contains("is not a conversation id", badId.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Calls_that_bypass_the_sidecar_are_refused_without_its_app_token()
    {
        // The app's own port, straight, as anything on the network could try: no dapr-api-token.
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress($"http://127.0.0.1:{fx.DirectorySidecar.Context.Options.AppPort}");
        var direct = new DirectoryInternalService.DirectoryInternalServiceClient(channel);
        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            direct.GetUserConversationsAsync(new GetUserConversationsRequest { UserId = "u1" }, new Metadata { { "dapr-caller-app-id", "messaging" } }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
        Assert.Contains("only callable through the app's Dapr sidecar", ex.Status.Detail, StringComparison.Ordinal);
    }
}
