using Chat.Contracts.V1;
using Chat.Core;
using Chat.Domain;
using Chat.Router;
using Chat.Unit.Tests.Fakes;

namespace Chat.Unit.Tests.Router;

/// <summary>Edits, deletes and reactions as the conversation actor applies them: the rules, the target's new state, dedup and repair.</summary>
[Trait("Category", "Unit")]
[Trait("Area", "House")]
public sealed class ConversationActorLifecycleTests
{
    private static readonly string Group = ConversationId.Group("g1").Value;
    private static readonly string[] Members = ["ann", "carl", "dora"];
    private static readonly TimeSpan Window = TimeSpan.FromHours(1);

    private static AppendMessageRequest Send(string clientMsgId, string text, string sender = "ann") =>
        new(sender, "d1", clientMsgId, text, null, 0, false, "conn-1");

    private static LifecycleRequest Change(MessageKind kind, ulong target, string clientMsgId, string text = "", string sender = "ann", bool admin = false) =>
        new(sender, "d1", clientMsgId, (int)kind, target, text, Window, admin, Members);

    private static async Task<(RouterHarness Router, ConversationActor Actor)> WithMessageAsync(bool transactional = true)
    {
        var router = await RouterHarness.StartAsync(transactional);
        var actor = await router.ActivateAsync(Group);
        await actor.AppendAsync(Send("client-0001", "original"));
        return (router, actor);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_edit_is_a_new_entry_and_rewrites_its_target(bool transactional)
    {
        var (router, actor) = await WithMessageAsync(transactional);
        await using var _ = router;

        var result = await actor.ApplyLifecycleAsync(Change(MessageKind.Edit, 1, "client-0002", "edited"));

        Assert.Null(result.ErrorCode);
        Assert.Equal(2ul, result.Entry!.Seq);
        Assert.Equal((int)MessageKind.Edit, result.Entry.EntryKind);
        Assert.Equal(1ul, result.Entry.TargetSeq);
        var target = await router.StoredAsync(Group, 1);
        Assert.Equal("edited", target!.Text);
        Assert.Equal(result.Entry.SentAt, target.EditedAt);
        Assert.Equal([2ul], target.EditSeqs!);
        var meta = await router.MetaAsync(Group);
        Assert.Equal(1ul, meta!.LifecycleCount);
        Assert.Equal(0ul, meta.Unread(1, target)); // the edit is not an unread message
        Assert.Equal(MessageKind.Edit, router.Dapr.Events<MessageCreated>(DaprNames.Topics.MessageCreated).Last().Message.Kind);
    }

    [Fact]
    public async Task Only_the_sender_may_edit_and_a_refusal_appends_nothing()
    {
        var (router, actor) = await WithMessageAsync();
        await using var _ = router;

        var result = await actor.ApplyLifecycleAsync(Change(MessageKind.Edit, 1, "client-0002", "not mine", sender: "carl"));

        Assert.Equal(ErrorCodes.NotSender, result.ErrorCode);
        Assert.Null(result.Entry);
        Assert.Equal(1ul, (await router.MetaAsync(Group))!.LastSeq);
        Assert.Equal("original", (await router.StoredAsync(Group, 1))!.Text);
    }

    [Theory]
    [InlineData(0ul)]
    [InlineData(7ul)]
    public async Task A_target_that_is_not_in_the_log_is_refused(ulong target)
    {
        var (router, actor) = await WithMessageAsync();
        await using var _ = router;

        var result = await actor.ApplyLifecycleAsync(Change(MessageKind.Reaction, target, "client-0002", "👍"));

        Assert.Equal(ErrorCodes.InvalidTarget, result.ErrorCode);
    }

    [Fact]
    public async Task A_lifecycle_entry_cannot_itself_be_a_target()
    {
        var (router, actor) = await WithMessageAsync();
        await using var _ = router;
        await actor.ApplyLifecycleAsync(Change(MessageKind.Edit, 1, "client-0002", "edited"));

        var result = await actor.ApplyLifecycleAsync(Change(MessageKind.Edit, 2, "client-0003", "edit of an edit"));

        Assert.Equal(ErrorCodes.InvalidTarget, result.ErrorCode);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_delete_erases_the_text_reactions_and_the_text_of_its_edits(bool transactional)
    {
        var (router, actor) = await WithMessageAsync(transactional);
        await using var _ = router;
        await actor.ApplyLifecycleAsync(Change(MessageKind.Edit, 1, "client-0002", "secret edit"));
        await actor.ApplyLifecycleAsync(Change(MessageKind.Reaction, 1, "client-0003", "👍", sender: "carl"));

        var result = await actor.ApplyLifecycleAsync(Change(MessageKind.Delete, 1, "client-0004"));

        Assert.Null(result.ErrorCode);
        var target = await router.StoredAsync(Group, 1);
        Assert.True(target!.Deleted);
        Assert.Equal("", target.Text);
        Assert.Null(target.Reactions);
        Assert.Equal("", (await router.StoredAsync(Group, 2))!.Text);
        var again = await actor.ApplyLifecycleAsync(Change(MessageKind.Reaction, 1, "client-0005", "😀", sender: "dora"));
        Assert.Equal(ErrorCodes.MessageDeleted, again.ErrorCode);
    }

    [Fact]
    public async Task A_group_admin_may_delete_anyones_message_but_a_member_may_not()
    {
        var (router, actor) = await WithMessageAsync();
        await using var _ = router;

        var member = await actor.ApplyLifecycleAsync(Change(MessageKind.Delete, 1, "client-0002", sender: "carl"));
        var admin = await actor.ApplyLifecycleAsync(Change(MessageKind.Delete, 1, "client-0003", sender: "dora", admin: true));

        Assert.Equal(ErrorCodes.NotSender, member.ErrorCode);
        Assert.Null(admin.ErrorCode);
        Assert.True((await router.StoredAsync(Group, 1))!.Deleted);
    }

    [Fact]
    public async Task Reactions_are_one_per_member_and_an_empty_one_removes_it()
    {
        var (router, actor) = await WithMessageAsync();
        await using var _ = router;

        await actor.ApplyLifecycleAsync(Change(MessageKind.Reaction, 1, "client-0002", "👍", sender: "carl"));
        await actor.ApplyLifecycleAsync(Change(MessageKind.Reaction, 1, "client-0003", "👍", sender: "dora"));
        await actor.ApplyLifecycleAsync(Change(MessageKind.Reaction, 1, "client-0004", "😀", sender: "carl"));
        await actor.ApplyLifecycleAsync(Change(MessageKind.Reaction, 1, "client-0005", "", sender: "dora"));

        var target = await router.StoredAsync(Group, 1);
        Assert.Equal(new Dictionary<string, string> { ["carl"] = "😀" }, target!.Reactions);
        var seen = target.ToContract("carl");
        Assert.True(Assert.Single(seen.Reactions).Mine);
    }

    [Fact]
    public async Task A_repeated_lifecycle_request_returns_the_original_entry()
    {
        var (router, actor) = await WithMessageAsync();
        await using var _ = router;
        var first = await actor.ApplyLifecycleAsync(Change(MessageKind.Edit, 1, "client-0002", "edited"));

        var again = await actor.ApplyLifecycleAsync(Change(MessageKind.Edit, 1, "client-0002", "edited"));

        Assert.True(again.Duplicate);
        Assert.Equal(first.Entry!.Seq, again.Entry!.Seq);
        Assert.Equal(2ul, (await router.MetaAsync(Group))!.LastSeq);
    }

    [Fact]
    public async Task An_edit_whose_target_was_not_rewritten_before_a_crash_is_applied_on_repair()
    {
        var (router, actor) = await WithMessageAsync(transactional: false);
        await using var _ = router;
        router.Dapr.DieAfterWriting(MessageKeys.Message(Group, 2));

        await Assert.ThrowsAnyAsync<Exception>(() => actor.ApplyLifecycleAsync(Change(MessageKind.Edit, 1, "client-0002", "edited")));
        Assert.Equal("original", (await router.StoredAsync(Group, 1))!.Text);

        router.Dapr.FailWrite = null;
        await router.ActivateAsync(Group);

        var target = await router.StoredAsync(Group, 1);
        Assert.Equal("edited", target!.Text);
        Assert.Equal([2ul], target.EditSeqs!);
        Assert.Equal(2ul, (await router.MetaAsync(Group))!.LastSeq);
    }
}
