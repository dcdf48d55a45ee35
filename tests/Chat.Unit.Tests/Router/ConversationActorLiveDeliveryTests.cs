using Chat.Contracts.V1;
using Chat.Core;
using Chat.Core.Routing;
using Chat.Domain;
using Chat.Router;
using Chat.Unit.Tests.Fakes;

namespace Chat.Unit.Tests.Router;

/// <summary>
/// Small conversations: the actor delivers to the gateways itself and hands delivery only the
/// offline members' push; the outbox still advances only once the message is handed on.
/// </summary>
[Trait("Category", "Unit")]
[Trait("Area", "Delivery")]
public sealed class ConversationActorLiveDeliveryTests
{
    private static readonly string Dm = ConversationId.Direct("ann", "carl").Value;

    private static AppendMessageRequest Send(string clientMsgId, string text = "hi", string sender = "ann") =>
        new(sender, "d1", clientMsgId, text, null, 0, false, "conn-1");

    private static async Task<RouterHarness> OnlineAsync(params (string User, string Gateway)[] routes)
    {
        var router = await RouterHarness.StartAsync();
        foreach (var gateway in routes.Select(r => r.Gateway).Distinct())
        {
            await router.Dapr.LeaseGatewayAsync(gateway);
        }

        foreach (var (user, gateway) in routes)
        {
            await router.Dapr.SaveRoutesAsync(user, gateway);
        }

        return router;
    }

    private static List<DeliveryBatch> Batches(RouterHarness router, string gateway) =>
        router.Dapr.Events<DeliveryBatch>(DaprNames.Topics.Deliveries(gateway));

    private static Task Tick(ConversationActor actor) =>
        actor.ReceiveReminderAsync(ConversationActor.OutboxReminder, [], TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));

    [Fact]
    public async Task An_online_recipient_gets_the_message_from_the_actor_through_their_gateway_and_nothing_goes_to_message_created()
    {
        await using var router = await OnlineAsync(("ann", "gw-1"), ("carl", "gw-2"));
        var actor = await router.ActivateAsync(Dm);

        var sent = await actor.AppendAsync(Send("client-0001", "hello carl"));

        Assert.Empty(router.Dapr.Events<MessageCreated>(DaprNames.Topics.MessageCreated));
        var toCarl = Assert.Single(Assert.Single(Batches(router, "gw-2")).Deliveries);
        Assert.Equal(["carl"], toCarl.UserIds);
        Assert.Equal("hello carl", toCarl.MessageCreated.Message.Content.Text);
        Assert.Equal(sent.Message.MsgId, toCarl.MessageCreated.Message.MsgId);
        Assert.Empty(toCarl.MessageCreated.MemberIds); // a gateway needs only its own users
        Assert.Equal(["conn-1"], toCarl.ExcludeConnectionIds);
        // The sender's other devices get it too; the sending connection is left out by the gateway.
        var toAnn = Assert.Single(Assert.Single(Batches(router, "gw-1")).Deliveries);
        Assert.Equal(["ann"], toAnn.UserIds);
        Assert.Equal(["conn-1"], toAnn.ExcludeConnectionIds);

        // Handed on: the quiet ticks save the header as published and drop the reminder, publishing nothing again.
        await Tick(actor);
        await Tick(actor);
        var meta = await router.MetaAsync(Dm);
        Assert.Equal((1ul, 1ul), (meta!.LastSeq, meta.PublishedSeq));
        Assert.False(router.Timers.Reminders.ContainsKey(ConversationActor.OutboxReminder));
        Assert.Equal(2, router.Dapr.Published.Count);
    }

    [Fact]
    public async Task Members_on_the_senders_gateway_come_back_to_it_and_only_the_other_gateways_get_a_batch()
    {
        await using var router = await OnlineAsync(("ann", "gw-1"), ("carl", "gw-2"), ("dora", "gw-1"));
        var group = ConversationId.Group("g1").Value; // ann, carl, dora
        var actor = await router.ActivateAsync(group);

        var sent = await actor.AppendAsync(Send("client-0001", "from gw-1") with { GatewayInstanceId = "gw-1" });

        Assert.Equal(["ann", "dora"], sent.LocalRecipients);
        Assert.Empty(Batches(router, "gw-1"));
        Assert.Equal(["carl"], Assert.Single(Assert.Single(Batches(router, "gw-2")).Deliveries).UserIds);
        Assert.Empty(router.Dapr.Events<MessageCreated>(DaprNames.Topics.MessageCreated));

        // Handed on: the outbox counts it published and publishes nothing more.
        await Tick(actor);
        await Tick(actor);
        Assert.Equal(1ul, (await router.MetaAsync(group))!.PublishedSeq);
        Assert.Single(router.Dapr.Published);
    }

    [Fact]
    public async Task Without_a_calling_gateway_every_member_goes_through_their_gateways_topic()
    {
        await using var router = await OnlineAsync(("ann", "gw-1"), ("carl", "gw-1"));
        var actor = await router.ActivateAsync(Dm);

        var sent = await actor.AppendAsync(Send("client-0001"));

        Assert.Empty(sent.LocalRecipients);
        Assert.Equal(["ann", "carl"], Assert.Single(Assert.Single(Batches(router, "gw-1")).Deliveries).UserIds);
    }

    [Fact]
    public async Task A_repeated_send_through_a_gateway_gets_its_members_there_again_and_publishes_nothing()
    {
        await using var router = await OnlineAsync(("ann", "gw-1"), ("carl", "gw-1"));
        var actor = await router.ActivateAsync(Dm);
        var first = await actor.AppendAsync(Send("client-0001") with { GatewayInstanceId = "gw-1" });

        // The first answer may never have reached the gateway: the retry must still reach carl.
        var again = await actor.AppendAsync(Send("client-0001") with { GatewayInstanceId = "gw-1" });

        Assert.True(again.Duplicate);
        Assert.Equal(first.Message.MsgId, again.Message.MsgId);
        Assert.Equal(["ann", "carl"], again.LocalRecipients);
        Assert.Empty(router.Dapr.Published);
    }

    [Fact]
    public async Task When_the_members_gateway_publish_fails_the_whole_message_goes_to_delivery_and_nothing_is_left_to_the_caller()
    {
        await using var router = await OnlineAsync(("ann", "gw-1"), ("carl", "gw-2"));
        var actor = await router.ActivateAsync(Dm);
        var other = DaprNames.Topics.Deliveries("gw-2");
        router.Dapr.FailPublish = (_, topic) => topic == other ? new Dapr.DaprException("gateway topic down") : null;

        var sent = await actor.AppendAsync(Send("client-0001") with { GatewayInstanceId = "gw-1" });

        // Delivery delivers to everyone, the caller's members included: the caller must not deliver again.
        Assert.Empty(sent.LocalRecipients);
        Assert.Equal(["ann", "carl"], Assert.Single(router.Dapr.Events<MessageCreated>(DaprNames.Topics.MessageCreated)).MemberIds);
    }

    [Fact]
    public async Task An_offline_recipient_is_handed_to_delivery_in_a_marked_event_naming_only_them()
    {
        await using var router = await OnlineAsync(("ann", "gw-1"), ("carl", "gw-1"));
        var group = ConversationId.Group("g1").Value; // ann, carl, dora; dora has no connection
        var actor = await router.ActivateAsync(group);

        await actor.AppendAsync(Send("client-0001", "dora is away"));

        var live = Assert.Single(Assert.Single(Batches(router, "gw-1")).Deliveries);
        Assert.Equal(["ann", "carl"], live.UserIds);
        var forPush = Assert.Single(router.Dapr.Events<MessageCreated>(DaprNames.Topics.MessageCreated));
        Assert.True(forPush.LiveDelivered);
        Assert.Equal(["dora"], forPush.OfflineUserIds);
        Assert.Equal("dora is away", forPush.Message.Content.Text);
        Assert.Equal(ConversationKind.Group, forPush.Kind);
    }

    [Fact]
    public async Task An_offline_sender_is_not_pushed_their_own_message()
    {
        await using var router = await OnlineAsync(("carl", "gw-1")); // ann sends from a connection whose route is already gone
        var actor = await router.ActivateAsync(Dm);

        await actor.AppendAsync(Send("client-0001"));

        Assert.Equal(["carl"], Assert.Single(Assert.Single(Batches(router, "gw-1")).Deliveries).UserIds);
        Assert.Empty(router.Dapr.Events<MessageCreated>(DaprNames.Topics.MessageCreated));
    }

    [Fact]
    public async Task A_bot_member_still_gets_the_message_through_delivery_and_the_bots_topic()
    {
        await using var router = await OnlineAsync(("ann", "gw-1"));
        var actor = await router.ActivateAsync(ConversationId.Direct("ann", "bot1").Value);

        await actor.AppendAsync(Send("client-0001", "to the bot"));

        var forPush = Assert.Single(router.Dapr.Events<MessageCreated>(DaprNames.Topics.MessageCreated));
        Assert.True(forPush.LiveDelivered);
        Assert.Equal(["bot1"], forPush.OfflineUserIds);
        var forBots = Assert.Single(router.Dapr.Events<MessageCreated>(DaprNames.Topics.BotMessageCreated));
        Assert.False(forBots.LiveDelivered);
        Assert.Empty(forBots.OfflineUserIds);
        Assert.Equal(["ann", "bot1"], forBots.MemberIds.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_failed_gateway_publish_hands_the_whole_message_to_delivery_and_only_then_counts_it_published()
    {
        await using var router = await OnlineAsync(("ann", "gw-1"), ("carl", "gw-1"));
        var actor = await router.ActivateAsync(Dm);
        var gateway = DaprNames.Topics.Deliveries("gw-1");
        router.Dapr.FailPublish = (_, topic) => topic == gateway ? new Dapr.DaprException("gateway topic down") : null;

        await actor.AppendAsync(Send("client-0001", "via delivery"));

        Assert.Empty(Batches(router, "gw-1"));
        var whole = Assert.Single(router.Dapr.Events<MessageCreated>(DaprNames.Topics.MessageCreated));
        Assert.False(whole.LiveDelivered);
        Assert.Empty(whole.OfflineUserIds);
        Assert.Equal(["ann", "carl"], whole.MemberIds);
        Assert.Equal("conn-1", whole.SenderConnectionId);

        // Handed on: nothing is published again, and the header records it once the conversation is quiet.
        router.Dapr.FailPublish = null;
        await Tick(actor);
        await Tick(actor);
        Assert.Equal(1ul, (await router.MetaAsync(Dm))!.PublishedSeq);
        Assert.Single(router.Dapr.Published);
    }

    [Fact]
    public async Task When_neither_the_gateway_nor_delivery_takes_the_message_the_outbox_keeps_it_until_one_does()
    {
        await using var router = await OnlineAsync(("ann", "gw-1"), ("carl", "gw-1"));
        var actor = await router.ActivateAsync(Dm);
        router.Dapr.FailPublish = (_, _) => new Dapr.DaprException("pubsub down");

        await actor.AppendAsync(Send("client-0001", "kept"));
        await Tick(actor);
        await Tick(actor);
        await Tick(actor);

        Assert.Empty(router.Dapr.Published);
        Assert.True(router.Timers.Reminders.ContainsKey(ConversationActor.OutboxReminder));
        Assert.Equal(0ul, (await router.MetaAsync(Dm))!.PublishedSeq);

        router.Dapr.FailPublish = null;
        await Tick(actor);

        Assert.Equal("kept", Assert.Single(Assert.Single(Batches(router, "gw-1")).Deliveries).MessageCreated.Message.Content.Text);
        Assert.Empty(router.Dapr.Events<MessageCreated>(DaprNames.Topics.MessageCreated));
    }

    [Fact]
    public async Task A_failed_route_read_hands_the_whole_message_to_delivery()
    {
        await using var router = await OnlineAsync(("ann", "gw-1"), ("carl", "gw-1"));
        var actor = await router.ActivateAsync(Dm);
        router.Dapr.FailBulkRead = store => store == DaprNames.StateStores.Presence ? FakeDaprClient.Failed(Grpc.Core.StatusCode.Unavailable, "presence store down") : null;

        await actor.AppendAsync(Send("client-0001"));

        Assert.Empty(Batches(router, "gw-1"));
        Assert.False(Assert.Single(router.Dapr.Events<MessageCreated>(DaprNames.Topics.MessageCreated)).LiveDelivered);
    }

    [Fact]
    public async Task After_a_crash_the_message_goes_to_delivery_whole_since_its_members_are_unknown()
    {
        await using var router = await OnlineAsync(("ann", "gw-1"), ("carl", "gw-1"));
        var actor = await router.ActivateAsync(Dm);
        router.Faults.AfterSaveBeforePublish = _ => throw new InvalidOperationException("killed after save");
        await Assert.ThrowsAsync<InvalidOperationException>(() => actor.AppendAsync(Send("client-0001", "committed")));
        router.Faults.AfterSaveBeforePublish = null;

        await router.ActivateAsync(Dm);

        Assert.Empty(Batches(router, "gw-1"));
        var whole = Assert.Single(router.Dapr.Events<MessageCreated>(DaprNames.Topics.MessageCreated));
        Assert.Equal("committed", whole.Message.Content.Text);
        Assert.False(whole.LiveDelivered);
        Assert.Empty(whole.MemberIds);
    }

    [Theory]
    [InlineData(ConversationActor.LiveDeliveryMaxMembers, true)]
    [InlineData(ConversationActor.LiveDeliveryMaxMembers + 1, false)]
    public async Task Groups_up_to_the_limit_are_delivered_by_the_actor_and_larger_ones_by_delivery(int size, bool byActor)
    {
        var members = Enumerable.Range(1, size - 1).Select(i => $"m{i:D2}").ToArray();
        await using var router = await OnlineAsync([("ann", "gw-1"), .. members.Select(m => (m, "gw-1"))]);
        router.Directory.Group("big", "ann", members);
        var actor = await router.ActivateAsync(ConversationId.Group("big").Value);

        await actor.AppendAsync(Send("client-0001", "to everyone"));

        var created = router.Dapr.Events<MessageCreated>(DaprNames.Topics.MessageCreated);
        if (byActor)
        {
            Assert.Equal(size, Assert.Single(Assert.Single(Batches(router, "gw-1")).Deliveries).UserIds.Count);
            Assert.Empty(created);
        }
        else
        {
            Assert.Empty(Batches(router, "gw-1"));
            var whole = Assert.Single(created);
            Assert.False(whole.LiveDelivered);
            Assert.Equal(size, whole.MemberIds.Count);
        }
    }
}
