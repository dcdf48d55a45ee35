using Chat.Contracts.V1;
using Chat.Core;
using Chat.Domain;
using Chat.Router;
using Chat.Unit.Tests.Fakes;

namespace Chat.Unit.Tests.Router;

/// <summary>The conversation actor's log: seqs, dedup, the outbox and crash repair, on both write paths.</summary>
[Trait("Category", "Unit")]
[Trait("Area", "House")]
public sealed class ConversationActorTests
{
    private static readonly string Dm = ConversationId.Direct("ann", "carl").Value;

    private static AppendMessageRequest Send(string clientMsgId, string text = "hi", string sender = "ann") =>
        new(sender, "d1", clientMsgId, text, null, 0, false, "conn-1");

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Appends_get_consecutive_seqs_and_increasing_ids_and_the_header_follows(bool transactional)
    {
        await using var router = await RouterHarness.StartAsync(transactional);
        var actor = await router.ActivateAsync(Dm);

        var results = new List<AppendMessageResult>();
        foreach (var id in new[] { "client-0001", "client-0002", "client-0003" })
        {
            results.Add(await actor.AppendAsync(Send(id, "text " + id)));
        }

        Assert.Equal([1ul, 2ul, 3ul], results.Select(r => r.Message.Seq));
        Assert.All(results, r => Assert.False(r.Duplicate));
        Assert.True(results[0].Message.MsgId < results[1].Message.MsgId && results[1].Message.MsgId < results[2].Message.MsgId);
        Assert.Equal("text client-0002", (await router.StoredAsync(Dm, 2))!.Text);
        var meta = await router.MetaAsync(Dm);
        Assert.Equal(3ul, meta!.LastSeq);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_repeated_client_msg_id_returns_the_original_and_stores_and_publishes_nothing_new(bool transactional)
    {
        await using var router = await RouterHarness.StartAsync(transactional);
        var actor = await router.ActivateAsync(Dm);
        var first = await actor.AppendAsync(Send("client-0001", "first"));

        var again = await actor.AppendAsync(Send("client-0001", "a retry with other text"));

        Assert.True(again.Duplicate);
        Assert.Equal(first.Message.Seq, again.Message.Seq);
        Assert.Equal(first.Message.MsgId, again.Message.MsgId);
        Assert.Equal("first", again.Message.Text);
        Assert.Single(router.Dapr.Events<MessageCreated>(DaprNames.Topics.MessageCreated));
        Assert.Equal(1ul, (await router.MetaAsync(Dm))!.LastSeq);
    }

    [Theory]
    [InlineData("state.sqlite", false)]
    [InlineData("state.postgresql", false)]
    [InlineData("state.redis", true)]
    public async Task The_dedup_key_is_read_before_an_append_only_where_transactions_do_not_enforce_first_write(string storeType, bool readsFirst)
    {
        await using var router = await RouterHarness.StartAsync(storeType: storeType);
        var actor = await router.ActivateAsync(Dm);
        var dedupKey = MessageKeys.Dedup(Dm, "ann", "client-0001");

        var first = await actor.AppendAsync(Send("client-0001", "first"));
        Assert.Equal(readsFirst, router.Dapr.Reads.Contains((DaprNames.StateStores.Messages, dedupKey)));

        // Either way a retry gets the original, and nothing new is stored or published, in this activation and the next.
        var again = await actor.AppendAsync(Send("client-0001", "a retry"));
        var later = await (await router.ActivateAsync(Dm)).AppendAsync(Send("client-0001", "a later retry"));
        foreach (var retry in new[] { again, later })
        {
            Assert.True(retry.Duplicate);
            Assert.Equal(first.Message.MsgId, retry.Message.MsgId);
            Assert.Equal("first", retry.Message.Text);
        }

        // (The new activation publishes seq 1 again: its header did not yet say it was published.)
        Assert.All(router.Dapr.Events<MessageCreated>(DaprNames.Topics.MessageCreated), e => Assert.Equal(1ul, e.Message.Seq));
        Assert.Equal(1ul, (await router.MetaAsync(Dm))!.LastSeq);
        Assert.Null(await router.StoredAsync(Dm, 2));
    }

    [Fact]
    public async Task Dedup_survives_a_new_activation()
    {
        await using var router = await RouterHarness.StartAsync();
        var first = await (await router.ActivateAsync(Dm)).AppendAsync(Send("client-0001"));

        var again = await (await router.ActivateAsync(Dm)).AppendAsync(Send("client-0001"));

        Assert.True(again.Duplicate);
        Assert.Equal(first.Message.MsgId, again.Message.MsgId);
    }

    [Fact]
    public async Task The_same_client_msg_id_from_another_sender_is_a_new_message()
    {
        await using var router = await RouterHarness.StartAsync();
        var actor = await router.ActivateAsync(Dm);
        await actor.AppendAsync(Send("client-0001", sender: "ann"));

        var other = await actor.AppendAsync(Send("client-0001", sender: "carl"));

        Assert.False(other.Duplicate);
        Assert.Equal(2ul, other.Message.Seq);
    }

    [Fact]
    public async Task Each_message_is_published_once_in_order_with_its_members_kind_and_sender_connection()
    {
        await using var router = await RouterHarness.StartAsync();
        var group = ConversationId.Group("g1").Value;
        var actor = await router.ActivateAsync(group);

        await actor.AppendAsync(Send("client-0001", "one", "ann"));
        await actor.AppendAsync(Send("client-0002", "two", "ann"));

        var events = router.Dapr.Events<MessageCreated>(DaprNames.Topics.MessageCreated);
        Assert.Equal([1ul, 2ul], events.Select(e => e.Message.Seq));
        Assert.Equal(["one", "two"], events.Select(e => e.Message.Content.Text));
        Assert.All(events, e =>
        {
            Assert.Equal(ConversationKind.Group, e.Kind);
            Assert.Equal(["ann", "carl", "dora"], e.MemberIds);
            Assert.Equal("conn-1", e.SenderConnectionId);
        });
        Assert.Equal("application/x-protobuf", router.Dapr.Published[0].ContentType);
    }

    [Fact]
    public async Task A_message_to_a_bot_is_also_published_for_the_bots_app_but_never_one_from_a_bot()
    {
        await using var router = await RouterHarness.StartAsync();
        var actor = await router.ActivateAsync(ConversationId.Direct("ann", "bot1").Value);

        await actor.AppendAsync(Send("client-0001", "to the bot", "ann"));
        await actor.AppendAsync(Send("client-0002", "from the bot", "bot1"));

        var forBots = router.Dapr.Events<MessageCreated>(DaprNames.Topics.BotMessageCreated);
        Assert.Equal(["to the bot"], forBots.Select(e => e.Message.Content.Text));
        Assert.Equal(2, router.Dapr.Events<MessageCreated>(DaprNames.Topics.MessageCreated).Count);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_senders_cursors_move_with_their_message(bool transactional)
    {
        await using var router = await RouterHarness.StartAsync(transactional);
        var actor = await router.ActivateAsync(Dm);
        await actor.AppendAsync(Send("client-0001"));
        await actor.AppendAsync(Send("client-0002"));

        var cursor = await router.Dapr.GetStateAsync<StoredCursor?>(DaprNames.StateStores.Messages, MessageKeys.Cursor(Dm, "ann"));
        var peer = await router.Dapr.GetStateAsync<StoredCursor?>(DaprNames.StateStores.Messages, MessageKeys.Cursor(Dm, "carl"));

        Assert.Equal((2ul, 2ul), (cursor!.DeliveredSeq, cursor.ReadSeq));
        Assert.Null(peer);
    }

    [Fact]
    public async Task A_partial_append_is_repaired_on_the_next_activation()
    {
        await using var router = await RouterHarness.StartAsync(transactional: false);
        var actor = await router.ActivateAsync(Dm);
        await actor.AppendAsync(Send("client-0001", "before"));
        var published = router.Dapr.Published.Count;

        // The process dies right after the message key (the commit point) is written: no dedup entry, header or publish.
        router.Dapr.DieAfterWriting(MessageKeys.Message(Dm, 2));
        await Assert.ThrowsAnyAsync<Exception>(() => actor.AppendAsync(Send("client-0002", "stored before the crash")));
        Assert.Equal("stored before the crash", (await router.StoredAsync(Dm, 2))!.Text);
        Assert.Equal(1ul, (await router.MetaAsync(Dm))!.LastSeq);
        Assert.Equal(published, router.Dapr.Published.Count);

        router.Dapr.FailWrite = null;
        var revived = await router.ActivateAsync(Dm);

        Assert.Equal(2ul, (await router.MetaAsync(Dm))!.LastSeq);
        var repaired = router.Dapr.Events<MessageCreated>(DaprNames.Topics.MessageCreated).Last();
        Assert.Equal(2ul, repaired.Message.Seq);
        Assert.Empty(repaired.MemberIds); // unknown after a crash: delivery asks directory
        var retry = await revived.AppendAsync(Send("client-0002", "stored before the crash"));
        Assert.True(retry.Duplicate);
        Assert.Equal(2ul, retry.Message.Seq);
        Assert.Equal(3ul, (await revived.AppendAsync(Send("client-0003"))).Message.Seq);
    }

    [Fact]
    public async Task A_crash_between_commit_and_publish_is_published_by_the_next_activation()
    {
        await using var router = await RouterHarness.StartAsync();
        var actor = await router.ActivateAsync(Dm);
        router.Faults.AfterSaveBeforePublish = _ => throw new InvalidOperationException("killed after save");

        await Assert.ThrowsAsync<InvalidOperationException>(() => actor.AppendAsync(Send("client-0001", "committed")));
        Assert.Empty(router.Dapr.Events<MessageCreated>(DaprNames.Topics.MessageCreated));
        Assert.True(router.Timers.Reminders.ContainsKey(ConversationActor.OutboxReminder));

        router.Faults.AfterSaveBeforePublish = null;
        await router.ActivateAsync(Dm);

        Assert.Equal(["committed"], router.Dapr.Events<MessageCreated>(DaprNames.Topics.MessageCreated).Select(e => e.Message.Content.Text));
    }

    [Fact]
    public async Task A_failed_publish_is_retried_by_the_outbox_reminder_which_then_goes_quiet()
    {
        await using var router = await RouterHarness.StartAsync();
        var actor = await router.ActivateAsync(Dm);
        router.Dapr.FailPublish = (_, _) => new Dapr.DaprException("pubsub down");

        var result = await actor.AppendAsync(Send("client-0001", "stored anyway"));

        Assert.Equal(1ul, result.Message.Seq);
        Assert.Empty(router.Dapr.Published);
        Assert.True(router.Timers.Reminders.ContainsKey(ConversationActor.OutboxReminder));

        router.Dapr.FailPublish = null;
        await Tick(actor);
        Assert.Equal(["stored anyway"], router.Dapr.Events<MessageCreated>(DaprNames.Topics.MessageCreated).Select(e => e.Message.Content.Text));

        // Quiet ticks: the first forgives the recent append, the next saves the header and drops the reminder.
        await Tick(actor);
        Assert.True(router.Timers.Reminders.ContainsKey(ConversationActor.OutboxReminder));
        await Tick(actor);
        Assert.False(router.Timers.Reminders.ContainsKey(ConversationActor.OutboxReminder));
        var meta = await router.MetaAsync(Dm);
        Assert.Equal(meta!.LastSeq, meta.PublishedSeq);
        Assert.Single(router.Dapr.Events<MessageCreated>(DaprNames.Topics.MessageCreated));
    }

    /// <summary>Messages store types with their capabilities, one per commit path: one transaction, first-write save then a transaction, the head.</summary>
    public static TheoryData<string, bool, bool> CommitPaths => new()
    {
        { "state.sqlite", true, true },
        { "state.redis", true, true },
        { "state.cassandra", false, false },
    };

    /// <summary>
    /// A router whose sidecar restarted keeps its activations; another router took the
    /// conversation over and appended, then gave it back. The stale activation's quiet outbox
    /// tick must not write its older header over the newer one: history is read up to the
    /// header, so every message after it would look lost. (The clean-clone CI saw this.)
    /// </summary>
    [Theory]
    [MemberData(nameof(CommitPaths))]
    public async Task A_stale_activations_outbox_tick_never_moves_the_header_back(string storeType, bool transactional, bool etags)
    {
        var (router, stale) = await StaleActivationAsync(storeType, transactional, etags);
        await using var _ = router;

        // The stale activation's ticks: the first forgives its append, the next is quiet.
        await Tick(stale);
        await Tick(stale);
        await Tick(stale);

        Assert.Equal(3ul, (await router.MetaAsync(Dm))!.LastSeq);
        var next = await stale.AppendAsync(Send("client-0004", "four"));
        Assert.Equal(4ul, next.Message.Seq);
        Assert.Equal(["one", "two", "three", "four"], (await Task.WhenAll(Enumerable.Range(1, 4).Select(s => router.StoredAsync(Dm, (ulong)s)))).Select(m => m!.Text));
    }

    /// <summary>
    /// The same stale activation is asked to edit, and to reply to, messages another activation
    /// appended: it catches up before judging the target, instead of refusing it as unknown (the
    /// client would retry that edit forever).
    /// </summary>
    [Theory]
    [MemberData(nameof(CommitPaths))]
    public async Task A_stale_activation_catches_up_before_judging_a_target(string storeType, bool transactional, bool etags)
    {
        var (router, stale) = await StaleActivationAsync(storeType, transactional, etags);
        await using var _ = router;

        var edit = await stale.ApplyLifecycleAsync(new LifecycleRequest("ann", "d1", "client-0004", (int)MessageKind.Edit, 3, "three, edited",
            TimeSpan.FromHours(1), false, ["ann", "carl"]));
        var reply = await stale.AppendAsync(Send("client-0005", "re: two") with { ReplyToSeq = 2 });
        var unknown = await stale.AppendAsync(Send("client-0006", "re: nothing") with { ReplyToSeq = 9 });

        Assert.Null(edit.ErrorCode);
        Assert.Equal(4ul, edit.Entry!.Seq);
        Assert.Equal("three, edited", (await router.StoredAsync(Dm, 3))!.Text);
        Assert.Equal(5ul, reply.Message.Seq);
        Assert.Equal(ErrorCodes.InvalidReplyTo, unknown.Refused!.Code);
    }

    [Fact]
    public async Task Other_reminders_are_ignored()
    {
        await using var router = await RouterHarness.StartAsync();
        var actor = await router.ActivateAsync(Dm);
        router.Dapr.FailPublish = (_, _) => new Dapr.DaprException("pubsub down");
        await actor.AppendAsync(Send("client-0001"));
        router.Dapr.FailPublish = null;

        await actor.ReceiveReminderAsync("something-else", [], TimeSpan.Zero, TimeSpan.Zero);

        Assert.Empty(router.Dapr.Published);
    }

    /// <summary>An activation that appended seq 1, then another activation of the conversation appended 2 and 3.</summary>
    private static async Task<(RouterHarness Router, ConversationActor Stale)> StaleActivationAsync(string storeType, bool transactional, bool etags)
    {
        var router = await RouterHarness.StartAsync(transactional, etags: etags, storeType: storeType);
        var stale = await router.ActivateAsync(Dm);
        await stale.AppendAsync(Send("client-0001", "one"));
        var other = await router.ActivateAsync(Dm);
        await other.AppendAsync(Send("client-0002", "two"));
        await other.AppendAsync(Send("client-0003", "three"));
        return (router, stale);
    }

    private static Task Tick(ConversationActor actor) =>
        actor.ReceiveReminderAsync(ConversationActor.OutboxReminder, [], TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
}
