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
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var dapr = new FakeDaprClient(time)
            .WithStore(DaprNames.StateStores.Messages, FakeDaprClient.FullStore).WithStoreType(DaprNames.StateStores.Messages, storeType)
            .WithStore(DaprNames.StateStores.Presence, FakeDaprClient.FullStore)
            .WithStore(DaprNames.StateStores.Actors, FakeDaprClient.FullStore);
        await using var router = await RouterHarness.StartAsync(dapr: dapr, time: time);
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

    private static Task Tick(ConversationActor actor) =>
        actor.ReceiveReminderAsync(ConversationActor.OutboxReminder, [], TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
}
