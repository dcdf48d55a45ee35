using System.Text.Json;
using Chat.Contracts.V1;
using Chat.Core;
using Chat.Directory.Services;
using Chat.Directory.State;
using Chat.Domain;
using Chat.ServiceDefaults.Auth;
using Chat.Unit.Tests.Fakes;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;

namespace Chat.Unit.Tests.Directory;

/// <summary>Directory's group membership rules and what its internal service tells the other apps about them.</summary>
[Trait("Category", "Unit")]
[Trait("Area", "House")]
public sealed class GroupMembershipTests
{
    private readonly FakeDaprClient _dapr;
    private readonly DirectoryCore _core;
    private readonly Groups _groups;
    private readonly DirectoryInternalGrpcService _internal;
    private readonly ChatLimits _limits = new() { GroupMemberCap = 4 };
    private readonly ActorCallRecorder _actors = new();

    public GroupMembershipTests()
    {
        var time = FakeDaprClient.Noon();
        _dapr = new FakeDaprClient(time).WithStore(DaprNames.StateStores.Directory, FakeDaprClient.FullStore);
        _core = new DirectoryCore(new DaprDirectoryState(_dapr), new StaticOptionsMonitor<ChatLimits>(_limits), time);
        _groups = new Groups(_core, new GroupEvents(_dapr, time, NullLogger<GroupEvents>.Instance),
            new GroupMembersPush(_actors.Factory(), NullLogger<GroupMembersPush>.Instance));
        _internal = new DirectoryInternalGrpcService(_core);
    }

    private static ChatUser As(string userId) => new(userId, "d1", userId);

    private async Task UsersAsync(params string[] ids)
    {
        foreach (var id in ids)
        {
            await _core.State.SaveAsync(DirectoryKeys.User(id), new UserRecord { UserId = id, UserName = id, DisplayName = id }, CancellationToken.None);
        }
    }

    private async Task<string> GroupAsync(string owner, params string[] members) =>
        (await _groups.CreateAsync(As(owner), new CreateGroupRequest { Title = "Team", MemberIds = { members } }, CancellationToken.None)).GroupId;

    private Task<GetMembersResponse> MembersAsync(string groupId) =>
        _internal.GetMembers(new GetMembersRequest { ConversationId = ConversationId.Group(groupId).Value }, new TestCallContext("/chat.v1.DirectoryInternalService/GetMembers", []));

    private async Task<GroupRole> RoleAsync(string groupId, string userId) =>
        (await _internal.GetMemberRole(new GetMemberRoleRequest { ConversationId = ConversationId.Group(groupId).Value, UserId = userId },
            new TestCallContext("/chat.v1.DirectoryInternalService/GetMemberRole", []))).Role;

    [Fact]
    public async Task The_creator_owns_the_group_and_everyone_named_is_a_member_with_it_in_their_list()
    {
        await UsersAsync("ann", "carl", "dora");

        var group = await GroupAsync("ann", "carl", "dora", "ann");

        var members = await MembersAsync(group);
        Assert.True(members.Exists);
        Assert.Equal(["ann", "carl", "dora"], members.MemberIds);
        Assert.Equal(GroupRole.Owner, await RoleAsync(group, "ann"));
        Assert.Equal(GroupRole.Member, await RoleAsync(group, "carl"));
        Assert.Equal(GroupRole.Unspecified, await RoleAsync(group, "eve"));
        var carls = await _core.ListConversationsAsync("carl", CancellationToken.None);
        Assert.Contains(carls, c => c.ConversationId == ConversationId.Group(group).Value);
        var created = Assert.Single(_dapr.Events<GroupChanged>(DaprNames.Topics.GroupChanged));
        Assert.Equal(GroupChangeKind.Created, created.Kind);
    }

    [Fact]
    public async Task Only_owners_and_admins_add_members_and_nothing_changes_when_refused()
    {
        await UsersAsync("ann", "carl", "dora");
        var group = await GroupAsync("ann", "carl");

        var refused = await Assert.ThrowsAsync<RpcException>(() =>
            _groups.AddMembersAsync(As("carl"), new AddMembersRequest { GroupId = group, UserIds = { "dora" } }, CancellationToken.None));
        var outsider = await Assert.ThrowsAsync<RpcException>(() =>
            _groups.AddMembersAsync(As("dora"), new AddMembersRequest { GroupId = group, UserIds = { "dora" } }, CancellationToken.None));

        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Equal(ErrorCodes.NotMember, outsider.ErrorCode());
        Assert.Equal(["ann", "carl"], (await MembersAsync(group)).MemberIds);
    }

    [Fact]
    public async Task The_member_cap_holds()
    {
        await UsersAsync("ann", "carl", "dora", "eve", "fay");
        var group = await GroupAsync("ann", "carl", "dora");

        var full = await Assert.ThrowsAsync<RpcException>(() =>
            _groups.AddMembersAsync(As("ann"), new AddMembersRequest { GroupId = group, UserIds = { "eve", "fay" } }, CancellationToken.None));

        Assert.Equal((StatusCode.FailedPrecondition, ErrorCodes.GroupFull), (full.StatusCode, full.ErrorCode()));
        Assert.Equal(3, (await MembersAsync(group)).MemberIds.Count);
    }

    [Fact]
    public async Task Users_who_allow_nobody_to_add_them_are_not_added()
    {
        await UsersAsync("ann", "carl");
        await _core.State.SaveAsync(DirectoryKeys.User("dora"),
            new UserRecord { UserId = "dora", UserName = "dora", Privacy = new PrivacyRecord { GroupAdd = (int)GroupAddPolicy.Nobody } }, CancellationToken.None);
        var group = await GroupAsync("ann", "carl");

        var denied = await Assert.ThrowsAsync<RpcException>(() =>
            _groups.AddMembersAsync(As("ann"), new AddMembersRequest { GroupId = group, UserIds = { "dora" } }, CancellationToken.None));

        Assert.Equal(ErrorCodes.GroupAddDenied, denied.ErrorCode());
    }

    [Fact]
    public async Task Admins_may_remove_members_but_not_the_owner_and_a_removed_member_is_gone_for_messaging()
    {
        await UsersAsync("ann", "carl", "dora");
        var group = await GroupAsync("ann", "carl", "dora");
        await _groups.SetRoleAsync(As("ann"), new SetRoleRequest { GroupId = group, UserId = "carl", Role = GroupRole.Admin }, CancellationToken.None);

        var owner = await Assert.ThrowsAsync<RpcException>(() =>
            _groups.RemoveMemberAsync(As("carl"), new RemoveMemberRequest { GroupId = group, UserId = "ann" }, CancellationToken.None));
        await _groups.RemoveMemberAsync(As("carl"), new RemoveMemberRequest { GroupId = group, UserId = "dora" }, CancellationToken.None);

        Assert.Equal(StatusCode.PermissionDenied, owner.StatusCode);
        Assert.Equal(GroupRole.Admin, await RoleAsync(group, "carl"));
        Assert.Equal(["ann", "carl"], (await MembersAsync(group)).MemberIds);
        Assert.DoesNotContain(await _core.ListConversationsAsync("dora", CancellationToken.None), c => c.ConversationId == ConversationId.Group(group).Value);
    }

    [Fact]
    public async Task Group_members_are_contacts_for_presence_and_strangers_are_not()
    {
        await UsersAsync("ann", "carl", "eve");
        await GroupAsync("ann", "carl");

        var rules = await _internal.GetPresenceRules(new GetPresenceRulesRequest { ViewerId = "carl", UserIds = { "ann", "eve" } },
            new TestCallContext("/chat.v1.DirectoryInternalService/GetPresenceRules", []));

        var byUser = rules.Rules.ToDictionary(r => r.UserId);
        Assert.True(byUser["ann"].IsContact);
        Assert.False(byUser["eve"].IsContact);
    }

    /// <summary>The member lists pushed to the group's conversation actor, in order.</summary>
    private List<ConversationMembers> Pushed(string groupId) =>
        _actors.Calls.Where(c => c.ActorType == DaprNames.Actors.Conversation && c.ActorId == ConversationId.Group(groupId).Value && c.Method == ConversationActorMethods.SetMembers)
            .Select(c => JsonSerializer.Deserialize<ConversationMembers>(c.Body, JsonSerializerOptions.Web)!).ToList();

    [Fact]
    public async Task Every_change_of_members_is_pushed_to_the_conversation_actor_with_a_growing_version_before_it_returns()
    {
        await UsersAsync("ann", "carl", "dora", "fred");
        var group = await GroupAsync("ann", "carl", "dora");

        await _groups.AddMembersAsync(As("ann"), new AddMembersRequest { GroupId = group, UserIds = { "fred" } }, CancellationToken.None);
        await _groups.RemoveMemberAsync(As("ann"), new RemoveMemberRequest { GroupId = group, UserId = "carl" }, CancellationToken.None);
        await _groups.LeaveAsync(As("dora"), group, CancellationToken.None);

        var pushed = Pushed(group);
        Assert.Equal([["ann", "carl", "dora", "fred"], ["ann", "dora", "fred"], ["ann", "fred"]], pushed.Select(p => p.MemberIds.ToArray()));
        Assert.True(pushed[0].Version < pushed[1].Version && pushed[1].Version < pushed[2].Version);
        Assert.Equal(pushed[^1].Version, (await MembersAsync(group)).Version);
    }

    [Fact]
    public async Task A_push_that_fails_fails_the_change_and_repeating_the_call_pushes_again()
    {
        await UsersAsync("ann", "carl", "dora");
        var group = await GroupAsync("ann", "carl", "dora");
        _actors.Failing = true;

        var failed = await Assert.ThrowsAsync<RpcException>(() =>
            _groups.RemoveMemberAsync(As("ann"), new RemoveMemberRequest { GroupId = group, UserId = "carl" }, CancellationToken.None));
        _actors.Failing = false;
        var repeated = await Assert.ThrowsAsync<RpcException>(() =>
            _groups.RemoveMemberAsync(As("ann"), new RemoveMemberRequest { GroupId = group, UserId = "carl" }, CancellationToken.None));

        Assert.Equal((StatusCode.Unavailable, ErrorCodes.Unavailable), (failed.StatusCode, failed.ErrorCode()));
        Assert.Equal(["ann", "dora"], (await MembersAsync(group)).MemberIds); // the change itself is stored
        Assert.Equal((StatusCode.NotFound, ErrorCodes.NotMember), (repeated.StatusCode, repeated.ErrorCode()));
        Assert.Equal(["ann", "dora"], Assert.Single(Pushed(group)).MemberIds);
    }

    [Fact]
    public async Task An_unknown_group_does_not_exist_for_messaging()
    {
        var members = await MembersAsync("nope");

        Assert.False(members.Exists);
        Assert.Empty(members.MemberIds);
    }
}
