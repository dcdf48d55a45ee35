using Chat.Domain;
using Chat.Gateway.Hubs;
using Chat.Integration.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using static Chat.Integration.Tests.ClientApi.ClientApiSystem;

namespace Chat.Integration.Tests.ClientApi;

/// <summary>Issue 16: group management, conversation settings and the paged list through the hub.</summary>
[Trait("Area", "ClientApi")]
public sealed class GroupHubTests(ClientApiSystem fx) : IClassFixture<ClientApiSystem>
{
    private sealed record Crew(HubClient Owner, HubClient Admin, HubClient Member, HubClient Outsider, string ConversationId);

    // owner, an admin and a member in one group, and an outsider.
    private async Task<Crew> CrewAsync()
    {
        var owner = await fx.UserAsync();
        var admin = await fx.UserAsync();
        var member = await fx.UserAsync();
        var outsider = await fx.UserAsync();
        var group = await owner.Connection.InvokeAsync<GroupDto>("CreateGroup", "crew", new[] { admin.User.UserId, member.User.UserId });
        await owner.Connection.InvokeAsync<GroupMemberDto>("SetRole", group.ConversationId, admin.User.UserId, "admin");
        return new Crew(owner, admin, member, outsider, group.ConversationId);
    }

    [Fact]
    public async Task GetGroup_lists_members_with_roles_for_members_only()
    {
        var c = await CrewAsync();
        var details = await c.Member.Connection.InvokeAsync<GroupDetailsDto>("GetGroup", c.ConversationId);
        Assert.Equal("member", details.MyRole);
        Assert.Equal(
            [(c.Owner.User.UserId, "owner"), (c.Admin.User.UserId, "admin"), (c.Member.User.UserId, "member")],
            details.Members.Select(m => (m.UserId, m.Role)));
        await Refused(ErrorCodes.NotMember, () => c.Outsider.Connection.InvokeAsync<GroupDetailsDto>("GetGroup", c.ConversationId));
        await Refused(ErrorCodes.InvalidConversationId, () => c.Member.Connection.InvokeAsync<GroupDetailsDto>("GetGroup", "grp:"));
    }

    [Fact]
    public async Task RenameGroup_by_an_admin_reaches_members_live_and_is_refused_to_members_outsiders_and_bad_titles()
    {
        var c = await CrewAsync();
        await Refused(ErrorCodes.NotAdmin, () => c.Member.Connection.InvokeAsync<GroupDto>("RenameGroup", c.ConversationId, "mine now"));
        await Refused(ErrorCodes.NotMember, () => c.Outsider.Connection.InvokeAsync<GroupDto>("RenameGroup", c.ConversationId, "mine now"));
        await Refused(ErrorCodes.InvalidTitle, () => c.Admin.Connection.InvokeAsync<GroupDto>("RenameGroup", c.ConversationId, ""));
        await Refused(ErrorCodes.InvalidConversationId, () => c.Admin.Connection.InvokeAsync<GroupDto>("RenameGroup", $"dm:{c.Admin.User.UserId}:{c.Member.User.UserId}", "x"));

        var renamed = await c.Admin.Connection.InvokeAsync<GroupDto>("RenameGroup", c.ConversationId, "new crew");
        Assert.Equal("new crew", renamed.Title);
        var seen = await c.Member.WaitForAsync<GroupChangedDto>(g => g.Kind == "renamed");
        Assert.Equal((c.ConversationId, "new crew", c.Admin.User.UserId), (seen.ConversationId, seen.Title, seen.ActorId));
        Assert.DoesNotContain(c.Outsider.Received.OfType<GroupChangedDto>(), g => g.ConversationId == c.ConversationId);
    }

    [Fact]
    public async Task SetRole_follows_whatsapp_rules()
    {
        var c = await CrewAsync();
        await Refused(ErrorCodes.NotAdmin, () => c.Member.Connection.InvokeAsync<GroupMemberDto>("SetRole", c.ConversationId, c.Member.User.UserId, "admin"));
        await Refused(ErrorCodes.NotAdmin, () => c.Admin.Connection.InvokeAsync<GroupMemberDto>("SetRole", c.ConversationId, c.Owner.User.UserId, "member"));
        await Refused(ErrorCodes.NotAdmin, () => c.Admin.Connection.InvokeAsync<GroupMemberDto>("SetRole", c.ConversationId, c.Member.User.UserId, "owner"));
        await Refused(ErrorCodes.NotMember, () => c.Outsider.Connection.InvokeAsync<GroupMemberDto>("SetRole", c.ConversationId, c.Member.User.UserId, "admin"));
        await Refused(ErrorCodes.InvalidArgument, () => c.Owner.Connection.InvokeAsync<GroupMemberDto>("SetRole", c.ConversationId, c.Member.User.UserId, "king"));
        await Refused(ErrorCodes.InvalidId, () => c.Owner.Connection.InvokeAsync<GroupMemberDto>("SetRole", c.ConversationId, "", "admin"));

        // An admin makes another admin; the member hears it live.
        var promoted = await c.Admin.Connection.InvokeAsync<GroupMemberDto>("SetRole", c.ConversationId, c.Member.User.UserId, "admin");
        Assert.Equal("admin", promoted.Role);
        var change = await c.Member.WaitForAsync<GroupChangedDto>(g => g.Kind == "role_changed" && g.UserIds.Contains(c.Member.User.UserId));
        Assert.Equal("admin", change.Role);

        // The owner hands over ownership and becomes admin.
        await c.Owner.Connection.InvokeAsync<GroupMemberDto>("SetRole", c.ConversationId, c.Admin.User.UserId, "owner");
        var details = await c.Owner.Connection.InvokeAsync<GroupDetailsDto>("GetGroup", c.ConversationId);
        Assert.Equal(("admin", c.Admin.User.UserId), (details.MyRole, details.Group.OwnerId));
    }

    [Fact]
    public async Task RemoveMember_by_an_admin_tells_the_removed_member_live_and_through_sync()
    {
        var c = await CrewAsync();
        var ack = await c.Owner.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(c.ConversationId, null, Guid.NewGuid().ToString(), "hi crew"));
        await Refused(ErrorCodes.NotAdmin, () => c.Member.Connection.InvokeAsync<GroupDto>("RemoveMember", c.ConversationId, c.Admin.User.UserId));
        await Refused(ErrorCodes.NotAdmin, () => c.Admin.Connection.InvokeAsync<GroupDto>("RemoveMember", c.ConversationId, c.Owner.User.UserId));
        await Refused(ErrorCodes.NotMember, () => c.Outsider.Connection.InvokeAsync<GroupDto>("RemoveMember", c.ConversationId, c.Member.User.UserId));
        await Refused(ErrorCodes.NotMember, () => c.Admin.Connection.InvokeAsync<GroupDto>("RemoveMember", c.ConversationId, c.Outsider.User.UserId));
        await Refused(ErrorCodes.InvalidId, () => c.Admin.Connection.InvokeAsync<GroupDto>("RemoveMember", c.ConversationId, "bad id"));

        var after = await c.Admin.Connection.InvokeAsync<GroupDto>("RemoveMember", c.ConversationId, c.Member.User.UserId);
        Assert.Equal(2u, after.MemberCount);
        var live = await c.Member.WaitForAsync<GroupChangedDto>(g => g.Kind == "member_removed");
        Assert.Equal([c.Member.User.UserId], live.UserIds);
        await c.Owner.WaitForAsync<GroupChangedDto>(g => g.Kind == "member_removed");

        // Later, through Sync: the client names the group it holds and learns it was removed.
        var sync = await c.Member.Connection.InvokeAsync<SyncResultDto>("Sync", new SyncArgs([new SyncCursorDto(c.ConversationId, 0, ack.Message.Seq)]));
        Assert.True(Assert.Single(sync.Deltas, d => d.ConversationId == c.ConversationId).Removed);
        // The conversation actor took directory's push before RemoveMember returned: refused at once.
        var refused = await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() =>
            c.Member.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(c.ConversationId, null, Guid.NewGuid().ToString(), "still here?")));
        Assert.Contains($"HubException: {ErrorCodes.NotMember}: ", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Right_after_RemoveMember_returns_the_removed_member_cannot_send_and_right_after_AddMembers_the_added_one_gets_the_next_message()
    {
        var c = await CrewAsync();
        // The group's actor holds its members once it has stored a message.
        await c.Member.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(c.ConversationId, null, Guid.NewGuid().ToString(), "before"));

        await c.Admin.Connection.InvokeAsync<GroupDto>("RemoveMember", c.ConversationId, c.Member.User.UserId);
        await Refused(ErrorCodes.NotMember, () =>
            c.Member.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(c.ConversationId, null, Guid.NewGuid().ToString(), "after removal")));

        await c.Admin.Connection.InvokeAsync<AddMembersResultDto>("AddMembers", c.ConversationId["grp:".Length..], new[] { c.Outsider.User.UserId });
        var next = await c.Owner.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(c.ConversationId, null, Guid.NewGuid().ToString(), "welcome"));
        var received = await c.Outsider.WaitForAsync<MessageDto>(m => m.ConversationId == c.ConversationId);
        Assert.Equal((next.Message.MsgId, "welcome"), (received.MsgId, received.Text));
        // And the newcomer may send at once too.
        await c.Outsider.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(c.ConversationId, null, Guid.NewGuid().ToString(), "thanks"));
    }

    [Fact]
    public async Task LeaveGroup_by_the_owner_hands_ownership_to_the_oldest_admin_and_added_members_see_the_group_in_sync()
    {
        var c = await CrewAsync();
        await Refused(ErrorCodes.NotMember, () => c.Outsider.Connection.InvokeAsync<GroupDto>("LeaveGroup", c.ConversationId));
        await Refused(ErrorCodes.InvalidConversationId, () => c.Owner.Connection.InvokeAsync<GroupDto>("LeaveGroup", "not-a-conversation"));

        var left = await c.Owner.Connection.InvokeAsync<GroupDto>("LeaveGroup", c.ConversationId);
        Assert.Equal((c.Admin.User.UserId, 2u), (left.OwnerId, left.MemberCount));
        var change = await c.Member.WaitForAsync<GroupChangedDto>(g => g.Kind == "member_left");
        Assert.Equal((c.Owner.User.UserId, c.Admin.User.UserId), (change.ActorId, change.OwnerId));
        Assert.Equal("owner", (await c.Admin.Connection.InvokeAsync<GroupDetailsDto>("GetGroup", c.ConversationId)).MyRole);

        // The new owner adds the outsider: the outsider hears it live and finds the group in Sync.
        await c.Admin.Connection.InvokeAsync<AddMembersResultDto>("AddMembers", c.ConversationId["grp:".Length..], new[] { c.Outsider.User.UserId });
        await c.Outsider.WaitForAsync<GroupChangedDto>(g => g.Kind == "members_added" && g.ConversationId == c.ConversationId);
        var sync = await c.Outsider.Connection.InvokeAsync<SyncResultDto>("Sync", new SyncArgs([]));
        Assert.Contains(sync.Deltas, d => d.ConversationId == c.ConversationId && !d.Removed);
    }

    [Fact]
    public async Task SetConversationSettings_mutes_until_a_time_hides_previews_and_is_refused_to_non_members_and_bad_input()
    {
        var c = await CrewAsync();
        var until = DateTimeOffset.UtcNow.AddHours(8);
        var set = await c.Member.Connection.InvokeAsync<ConversationSettingsDto>("SetConversationSettings", c.ConversationId, new ConversationSettingsArgs(true, until, "hide"));
        Assert.Equal((true, "hide"), (set.Muted, set.Previews));
        Assert.Equal(until.ToUnixTimeMilliseconds(), set.MutedUntil!.Value.ToUnixTimeMilliseconds());
        Assert.Equal(set, await c.Member.Connection.InvokeAsync<ConversationSettingsDto>("GetConversationSettings", c.ConversationId));
        // Per user: the owner's settings are untouched.
        Assert.Equal(new ConversationSettingsDto(c.ConversationId, false, null, "show"), await c.Owner.Connection.InvokeAsync<ConversationSettingsDto>("GetConversationSettings", c.ConversationId));

        await Refused(ErrorCodes.NotMember, () => c.Outsider.Connection.InvokeAsync<ConversationSettingsDto>("SetConversationSettings", c.ConversationId, new ConversationSettingsArgs(true)));
        await Refused(ErrorCodes.NotMember, () => c.Outsider.Connection.InvokeAsync<ConversationSettingsDto>("GetConversationSettings", c.ConversationId));
        await Refused(ErrorCodes.InvalidArgument, () => c.Member.Connection.InvokeAsync<ConversationSettingsDto>("SetConversationSettings", c.ConversationId, new ConversationSettingsArgs(true, null, "maybe")));
        await Refused(ErrorCodes.InvalidArgument, () => c.Member.Connection.InvokeAsync<ConversationSettingsDto>("SetConversationSettings", c.ConversationId, new ConversationSettingsArgs(true, DateTimeOffset.UtcNow.AddMinutes(-1))));
        await Refused(ErrorCodes.InvalidConversationId, () => c.Member.Connection.InvokeAsync<ConversationSettingsDto>("SetConversationSettings", "x", new ConversationSettingsArgs(true)));
        Assert.Equal(set, await c.Member.Connection.InvokeAsync<ConversationSettingsDto>("GetConversationSettings", c.ConversationId));
    }

    [Fact]
    public async Task ListConversations_pages_with_a_token_and_refuses_bad_tokens_and_limits()
    {
        var me = await fx.UserAsync();
        var peers = new[] { await fx.UserAsync(), await fx.UserAsync(), await fx.UserAsync() };
        foreach (var peer in peers)
        {
            await me.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(null, peer.User.UserId, Guid.NewGuid().ToString(), "hi " + peer.User.UserName));
        }

        var first = await me.Connection.InvokeAsync<ConversationPageDto>("ListConversations", new ListConversationsArgs(null, 2));
        Assert.Equal(2, first.Conversations.Count);
        Assert.NotNull(first.NextPageToken);
        var second = await me.Connection.InvokeAsync<ConversationPageDto>("ListConversations", new ListConversationsArgs(first.NextPageToken, 2));
        Assert.Null(second.NextPageToken);
        Assert.Equal(
            peers.Select(p => p.User.UserId).Order(),
            first.Conversations.Concat(second.Conversations).Select(c => c.PeerUserId).Order());
        // Most recent first: the last peer written to leads.
        Assert.Equal(peers[^1].User.UserId, first.Conversations[0].PeerUserId);

        await Refused(ErrorCodes.InvalidArgument, () => me.Connection.InvokeAsync<ConversationPageDto>("ListConversations", new ListConversationsArgs("not-a-token")));
        await Refused(ErrorCodes.InvalidLimit, () => me.Connection.InvokeAsync<ConversationPageDto>("ListConversations", new ListConversationsArgs(null, 5000)));
        // Another user sees none of these.
        Assert.Empty((await (await fx.UserAsync()).Connection.InvokeAsync<ConversationPageDto>("ListConversations", new ListConversationsArgs())).Conversations);
    }
}
