using Chat.Core;
using Chat.Domain;
using Chat.Router;
using Chat.Unit.Tests.Fakes;

namespace Chat.Unit.Tests.Router;

/// <summary>
/// The conversation actor decides who may send: members of a direct conversation follow from its
/// id (existence asked once per activation), a group's members are held and replaced by
/// directory's versioned push.
/// </summary>
[Trait("Category", "Unit")]
[Trait("Area", "Security")]
public sealed class ConversationActorMembershipTests
{
    private static readonly string Group = ConversationId.Group("g1").Value;

    private static int _ids;

    private static AppendMessageRequest From(string sender, bool createDirect = false) =>
        new(sender, "d1", $"client-{Interlocked.Increment(ref _ids):D6}", "hello", null, 0, false, "conn-1") { CreateDirect = createDirect };

    private static void AssertNotMember(AppendMessageResult result) =>
        Assert.Equal((ErrorCodes.NotMember, ValidationKind.PermissionDenied), (result.Refused?.Code, result.Refused!.Kind));

    [Fact]
    public async Task A_non_member_of_a_group_is_refused_and_nothing_is_stored()
    {
        await using var router = await RouterHarness.StartAsync();
        var actor = await router.ActivateAsync(Group);

        var result = await actor.AppendAsync(From("eve"));

        AssertNotMember(result);
        Assert.Null(await router.MetaAsync(Group));
        Assert.Empty(router.Dapr.Events<Chat.Contracts.V1.MessageCreated>(DaprNames.Topics.MessageCreated));
    }

    [Fact]
    public async Task A_group_is_asked_of_directory_once_and_then_held()
    {
        await using var router = await RouterHarness.StartAsync();
        var actor = await router.ActivateAsync(Group);

        for (var i = 0; i < 3; i++)
        {
            Assert.Null((await actor.AppendAsync(From("carl"))).Refused);
        }

        Assert.Equal(1, router.Directory.Calls("GetMembers"));
    }

    [Fact]
    public async Task A_removed_member_is_refused_as_soon_as_the_push_arrived_and_an_added_one_gets_the_next_message()
    {
        await using var router = await RouterHarness.StartAsync();
        var actor = await router.ActivateAsync(Group);
        await actor.AppendAsync(From("carl"));

        router.Directory.Remove(Group, "carl");
        router.Directory.Add(Group, "fred");
        await actor.SetMembersAsync(router.Directory.Members(Group));
        var removed = await actor.AppendAsync(From("carl"));
        var added = await actor.AppendAsync(From("fred"));

        AssertNotMember(removed);
        Assert.Null(added.Refused);
        var last = router.Dapr.Events<Chat.Contracts.V1.MessageCreated>(DaprNames.Topics.MessageCreated)[^1];
        Assert.Equal(["ann", "dora", "fred"], last.MemberIds.Order(StringComparer.Ordinal));
        Assert.Equal(1, router.Directory.Calls("GetMembers"));
    }

    [Fact]
    public async Task A_stale_push_does_not_overwrite_a_newer_member_list()
    {
        await using var router = await RouterHarness.StartAsync();
        var actor = await router.ActivateAsync(Group);
        var before = router.Directory.Members(Group); // carl still in
        router.Directory.Remove(Group, "carl");
        await actor.SetMembersAsync(router.Directory.Members(Group));

        await actor.SetMembersAsync(before); // arrives late

        AssertNotMember(await actor.AppendAsync(From("carl")));
        Assert.Null((await actor.AppendAsync(From("dora"))).Refused);
    }

    [Fact]
    public async Task Held_group_members_are_asked_again_after_a_while_without_a_push()
    {
        await using var router = await RouterHarness.StartAsync();
        var actor = await router.ActivateAsync(Group);
        Assert.Null((await actor.AppendAsync(From("carl"))).Refused);

        router.Directory.Remove(Group, "carl"); // a push that never arrived
        router.Time.Advance(ConversationActor.GroupMembersMaxAge + TimeSpan.FromSeconds(1));

        AssertNotMember(await actor.AppendAsync(From("carl")));
        Assert.Equal(2, router.Directory.Calls("GetMembers"));
    }

    [Fact]
    public async Task A_direct_conversation_admits_its_two_users_only_and_asks_directory_once_per_activation()
    {
        await using var router = await RouterHarness.StartAsync();
        var dm = ConversationId.Direct("ann", "carl").Value;
        var actor = await router.ActivateAsync(dm);

        var outsider = await actor.AppendAsync(From("eve"));
        Assert.Null((await actor.AppendAsync(From("ann"))).Refused);
        Assert.Null((await actor.AppendAsync(From("carl"))).Refused);

        AssertNotMember(outsider);
        Assert.Equal(1, router.Directory.Calls("GetMembers"));
        Assert.Equal(["ann", "carl"], router.Dapr.Events<Chat.Contracts.V1.MessageCreated>(DaprNames.Topics.MessageCreated)[^1].MemberIds);
    }

    [Fact]
    public async Task A_direct_conversation_directory_does_not_know_is_refused_unless_the_sender_named_the_peer_which_creates_it()
    {
        await using var router = await RouterHarness.StartAsync();
        var dm = ConversationId.Direct("ann", "gina").Value;
        var actor = await router.ActivateAsync(dm);

        var byId = await actor.AppendAsync(From("ann"));
        var byPeer = await actor.AppendAsync(From("ann", createDirect: true));
        var again = await actor.AppendAsync(From("ann", createDirect: true));

        AssertNotMember(byId);
        Assert.Null(byPeer.Refused);
        Assert.Null(again.Refused);
        Assert.Equal(1, router.Directory.Calls("EnsureDirectConversation"));
    }

    [Fact]
    public async Task Sending_to_a_peer_who_does_not_exist_is_not_found()
    {
        await using var router = await RouterHarness.StartAsync();
        router.Directory.Unknown("ghost");
        var actor = await router.ActivateAsync(ConversationId.Direct("ann", "ghost").Value);

        var result = await actor.AppendAsync(From("ann", createDirect: true));

        Assert.Equal((ErrorCodes.NotFound, ValidationKind.NotFound), (result.Refused?.Code, result.Refused!.Kind));
    }

    [Fact]
    public async Task Input_and_attachment_are_checked_by_the_actor_whoever_calls_it()
    {
        await using var router = await RouterHarness.StartAsync();
        var actor = await router.ActivateAsync(Group);

        var empty = await actor.AppendAsync(From("ann") with { Text = " " });
        var badId = await actor.AppendAsync(From("ann") with { ClientMsgId = "x" });
        var notMine = await actor.AppendAsync(From("ann") with { Text = "", MediaId = "0123456789abcdef0123456789abcdef" });

        Assert.Equal(ErrorCodes.ContentEmpty, empty.Refused?.Code);
        Assert.Equal(ErrorCodes.InvalidClientMsgId, badId.Refused?.Code);
        Assert.Equal(ErrorCodes.InvalidMedia, notMine.Refused?.Code);
    }
}
