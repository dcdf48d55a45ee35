using Chat.Contracts.V1;
using Chat.Domain;
using Chat.Integration.Tests.Infrastructure;
using Chat.ServiceDefaults.Auth;
using Grpc.Core;

namespace Chat.Integration.Tests;

/// <summary>Groups: roles, permissions, the member cap and concurrent changes, through Dapr gRPC proxying.</summary>
[Trait("Area", "Conversations")]
[Collection(DirectoryCollection.Name)]
public sealed class DirectoryGroupTests(DirectoryFixture fx)
{
    private DirectoryService.DirectoryServiceClient Dir => fx.Directory;

    [Fact]
    public async Task Create_add_roles_remove_and_leave_keep_roles_and_indexes_right()
    {
        var owner = await fx.RegisterAsync("own");
        var admin = await fx.RegisterAsync("adm");
        var member = await fx.RegisterAsync("mem");
        var late = await fx.RegisterAsync("late");

        var group = (await Dir.CreateGroupAsync(new CreateGroupRequest { Title = "Hiking", MemberIds = { admin.UserId, member.UserId, owner.UserId } }, owner.Auth)).Group;
        Assert.Equal(owner.UserId, group.OwnerId);
        Assert.Equal(3u, group.MemberCount);
        Assert.Equal(500u, group.MaxMembers);
        Assert.Equal("grp:" + group.GroupId, group.ConversationId);

        var role = await Dir.SetRoleAsync(new SetRoleRequest { GroupId = group.GroupId, UserId = admin.UserId, Role = GroupRole.Admin }, owner.Auth);
        Assert.Equal(GroupRole.Admin, role.Member.Role);

        // An admin adds; members already in are ignored.
        var added = await Dir.AddMembersAsync(new AddMembersRequest { GroupId = group.GroupId, UserIds = { late.UserId, member.UserId } }, admin.Auth);
        Assert.Equal([late.UserId], added.AddedUserIds);
        Assert.Equal(4u, added.Group.MemberCount);
        Assert.Contains(await Conversations(late), c => c.ConversationId == group.ConversationId && c.Kind == ConversationKind.Group);

        var removed = await Dir.RemoveMemberAsync(new RemoveMemberRequest { GroupId = group.GroupId, UserId = late.UserId }, admin.Auth);
        Assert.Equal(3u, removed.Group.MemberCount);
        Assert.DoesNotContain(await Conversations(late), c => c.ConversationId == group.ConversationId);

        // The owner leaves: the oldest admin becomes owner.
        await Dir.LeaveGroupAsync(new LeaveGroupRequest { GroupId = group.GroupId }, owner.Auth);
        var after = await Dir.GetGroupAsync(new GetGroupRequest { GroupId = group.GroupId }, admin.Auth);
        Assert.Equal(admin.UserId, after.Group.OwnerId);
        Assert.Equal(GroupRole.Owner, after.MyRole);
        Assert.DoesNotContain(await Conversations(owner), c => c.ConversationId == group.ConversationId);
        var members = (await Dir.ListMembersAsync(new ListMembersRequest { GroupId = group.GroupId }, member.Auth)).Members;
        Assert.Equal([(admin.UserId, GroupRole.Owner), (member.UserId, GroupRole.Member)], members.Select(m => (m.UserId, m.Role)));

        // Ownership transfer: the old owner becomes admin.
        var transfer = await Dir.SetRoleAsync(new SetRoleRequest { GroupId = group.GroupId, UserId = member.UserId, Role = GroupRole.Owner }, admin.Auth);
        Assert.Equal(GroupRole.Owner, transfer.Member.Role);
        var now = await Dir.GetGroupAsync(new GetGroupRequest { GroupId = group.GroupId }, admin.Auth);
        Assert.Equal(member.UserId, now.Group.OwnerId);
        Assert.Equal(GroupRole.Admin, now.MyRole);

        // The new owner leaves: the oldest admin takes over again.
        await Dir.LeaveGroupAsync(new LeaveGroupRequest { GroupId = group.GroupId }, member.Auth);
        Assert.Equal(admin.UserId, (await Dir.GetGroupAsync(new GetGroupRequest { GroupId = group.GroupId }, admin.Auth)).Group.OwnerId);
    }

    [Fact]
    public async Task Owner_leaving_without_admins_hands_over_to_the_oldest_member()
    {
        var owner = await fx.RegisterAsync("own");
        var first = await fx.RegisterAsync("first");
        var second = await fx.RegisterAsync("second");
        var group = (await Dir.CreateGroupAsync(new CreateGroupRequest { Title = "g", MemberIds = { first.UserId } }, owner.Auth)).Group;
        await Dir.AddMembersAsync(new AddMembersRequest { GroupId = group.GroupId, UserIds = { second.UserId } }, owner.Auth);

        await Dir.LeaveGroupAsync(new LeaveGroupRequest { GroupId = group.GroupId }, owner.Auth);

        var members = (await Dir.ListMembersAsync(new ListMembersRequest { GroupId = group.GroupId }, second.Auth)).Members;
        Assert.Equal([(first.UserId, GroupRole.Owner), (second.UserId, GroupRole.Member)], members.Select(m => (m.UserId, m.Role)));
    }

    [Fact]
    public async Task Non_admins_cannot_add_or_remove_admins_cannot_remove_the_owner_or_change_its_role()
    {
        var owner = await fx.RegisterAsync("own");
        var admin = await fx.RegisterAsync("adm");
        var member = await fx.RegisterAsync("mem");
        var outsider = await fx.RegisterAsync("out");
        var group = (await Dir.CreateGroupAsync(new CreateGroupRequest { Title = "Perms", MemberIds = { admin.UserId, member.UserId } }, owner.Auth)).Group;
        await Dir.SetRoleAsync(new SetRoleRequest { GroupId = group.GroupId, UserId = admin.UserId, Role = GroupRole.Admin }, owner.Auth);

        await Denied(ErrorCodes.NotAdmin, () => Dir.AddMembersAsync(new AddMembersRequest { GroupId = group.GroupId, UserIds = { outsider.UserId } }, member.Auth).ResponseAsync);
        await Denied(ErrorCodes.NotAdmin, () => Dir.RemoveMemberAsync(new RemoveMemberRequest { GroupId = group.GroupId, UserId = admin.UserId }, member.Auth).ResponseAsync);
        await Denied(ErrorCodes.NotAdmin, () => Dir.RemoveMemberAsync(new RemoveMemberRequest { GroupId = group.GroupId, UserId = owner.UserId }, admin.Auth).ResponseAsync);
        await Denied(ErrorCodes.NotAdmin, () => Dir.SetRoleAsync(new SetRoleRequest { GroupId = group.GroupId, UserId = admin.UserId, Role = GroupRole.Member }, member.Auth).ResponseAsync);
        await Denied(ErrorCodes.NotAdmin, () => Dir.SetRoleAsync(new SetRoleRequest { GroupId = group.GroupId, UserId = owner.UserId, Role = GroupRole.Member }, admin.Auth).ResponseAsync);
        await Denied(ErrorCodes.NotAdmin, () => Dir.SetRoleAsync(new SetRoleRequest { GroupId = group.GroupId, UserId = member.UserId, Role = GroupRole.Owner }, admin.Auth).ResponseAsync);
        await Denied(ErrorCodes.NotMember, () => Dir.AddMembersAsync(new AddMembersRequest { GroupId = group.GroupId, UserIds = { outsider.UserId } }, outsider.Auth).ResponseAsync);

        var members = (await Dir.ListMembersAsync(new ListMembersRequest { GroupId = group.GroupId }, owner.Auth)).Members;
        Assert.Equal(3, members.Count);

        // The owner may remove an admin.
        await Dir.RemoveMemberAsync(new RemoveMemberRequest { GroupId = group.GroupId, UserId = admin.UserId }, owner.Auth);
        Assert.Equal(2u, (await Dir.GetGroupAsync(new GetGroupRequest { GroupId = group.GroupId }, owner.Auth)).Group.MemberCount);
    }

    [Fact]
    public async Task Non_members_cannot_read_a_group_or_its_members_and_unknown_groups_are_NotFound()
    {
        var owner = await fx.RegisterAsync("own");
        var outsider = await fx.RegisterAsync("out");
        var group = (await Dir.CreateGroupAsync(new CreateGroupRequest { Title = "Private" }, owner.Auth)).Group;

        await Denied(ErrorCodes.NotMember, () => Dir.ListMembersAsync(new ListMembersRequest { GroupId = group.GroupId }, outsider.Auth).ResponseAsync);
        await Denied(ErrorCodes.NotMember, () => Dir.GetGroupAsync(new GetGroupRequest { GroupId = group.GroupId }, outsider.Auth).ResponseAsync);
        await Denied(ErrorCodes.NotMember, () => Dir.GetConversationMembersAsync(new GetConversationMembersRequest { ConversationId = group.ConversationId }, outsider.Auth).ResponseAsync);
        await Denied(ErrorCodes.NotMember, () => Dir.LeaveGroupAsync(new LeaveGroupRequest { GroupId = group.GroupId }, outsider.Auth).ResponseAsync);

        var missing = await Assert.ThrowsAsync<RpcException>(() => Dir.ListMembersAsync(new ListMembersRequest { GroupId = "gNOSUCHGROUP000" }, owner.Auth).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.Contains("gNOSUCHGROUP000", missing.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_501st_member_is_refused_with_FailedPrecondition_and_nobody_is_added()
    {
        var users = await fx.PoolAsync(502);
        var owner = users[0];
        var group = (await Dir.CreateGroupAsync(new CreateGroupRequest { Title = "Full", MemberIds = { users.Skip(1).Take(499).Select(u => u.UserId) } }, owner.Auth)).Group;
        Assert.Equal(500u, group.MemberCount);

        var full = await Assert.ThrowsAsync<RpcException>(() => Dir.AddMembersAsync(new AddMembersRequest { GroupId = group.GroupId, UserIds = { users[500].UserId } }, owner.Auth).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, full.StatusCode);
        Assert.Equal(ErrorCodes.GroupFull, full.ErrorCode());
        Assert.Contains("cap of 500", full.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(500u, (await Dir.GetGroupAsync(new GetGroupRequest { GroupId = group.GroupId }, owner.Auth)).Group.MemberCount);

        // Creating with 501 members is refused the same way.
        var tooBig = await Assert.ThrowsAsync<RpcException>(() =>
            Dir.CreateGroupAsync(new CreateGroupRequest { Title = "Too big", MemberIds = { users.Skip(1).Take(500).Select(u => u.UserId) } }, owner.Auth).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, tooBig.StatusCode);
    }

    [Fact]
    public async Task Twenty_concurrent_adds_lose_nobody()
    {
        var users = await fx.PoolAsync(21);
        var owner = users[0];
        var group = (await Dir.CreateGroupAsync(new CreateGroupRequest { Title = "Busy" }, owner.Auth)).Group;

        var results = await Task.WhenAll(users.Skip(1).Select(u =>
            Dir.AddMembersAsync(new AddMembersRequest { GroupId = group.GroupId, UserIds = { u.UserId } }, owner.Auth).ResponseAsync));

        Assert.All(results, (r, i) => Assert.Equal([users[i + 1].UserId], r.AddedUserIds));
        var members = (await Dir.ListMembersAsync(new ListMembersRequest { GroupId = group.GroupId }, owner.Auth)).Members.Select(m => m.UserId).ToList();
        Assert.Equal(users.Select(u => u.UserId).Order(StringComparer.Ordinal), members.Order(StringComparer.Ordinal));
        foreach (var u in users.Skip(1))
        {
            Assert.Contains(await Conversations(u), c => c.ConversationId == group.ConversationId);
        }
    }

    [Fact]
    public async Task Twenty_concurrent_adds_near_the_cap_fill_it_exactly_and_refuse_the_rest()
    {
        var users = await fx.PoolAsync(510);
        var owner = users[0];
        var group = (await Dir.CreateGroupAsync(new CreateGroupRequest { Title = "Nearly full", MemberIds = { users.Skip(1).Take(489).Select(u => u.UserId) } }, owner.Auth)).Group;
        Assert.Equal(490u, group.MemberCount);

        var contenders = users.Skip(490).Take(20).ToList();
        var outcomes = await Task.WhenAll(contenders.Select(async u =>
        {
            try
            {
                await Dir.AddMembersAsync(new AddMembersRequest { GroupId = group.GroupId, UserIds = { u.UserId } }, owner.Auth);
                return (u.UserId, Status: StatusCode.OK);
            }
            catch (RpcException ex)
            {
                return (u.UserId, Status: ex.StatusCode);
            }
        }));

        var winners = outcomes.Where(o => o.Status == StatusCode.OK).Select(o => o.UserId).ToList();
        Assert.Equal(10, winners.Count);
        Assert.All(outcomes.Where(o => o.Status != StatusCode.OK), o => Assert.Equal(StatusCode.FailedPrecondition, o.Status));
        var members = (await Dir.ListMembersAsync(new ListMembersRequest { GroupId = group.GroupId }, owner.Auth)).Members.Select(m => m.UserId).ToHashSet();
        Assert.Equal(500, members.Count);
        Assert.Subset(members, winners.ToHashSet());
        Assert.DoesNotContain(outcomes, o => o.Status != StatusCode.OK && members.Contains(o.UserId));
    }

    private async Task<IReadOnlyList<UserConversation>> Conversations(DirUser user) =>
        (await Dir.ListUserConversationsAsync(new ListUserConversationsRequest(), user.Auth)).Conversations;

    private static async Task Denied(string code, Func<Task> call)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(call);
        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
        Assert.Equal(code, ex.ErrorCode());
    }
}
