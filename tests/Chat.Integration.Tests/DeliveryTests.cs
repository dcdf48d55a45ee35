using Chat.Core.Routing;
using Chat.Domain;
using Chat.Gateway.Hubs;
using Chat.Integration.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Integration.Tests;

/// <summary>Issue 6: end to end through real SignalR clients, the gateway, delivery and the dev sidecar.</summary>
[Trait("Area", "Delivery")]
[Collection(RedisCollection.Name)]
public sealed class DeliveryTests(RedisServerFixture redis)
{
    public static TheoryData<ComponentSet> Sets => new() { ComponentSet.Embedded, ComponentSet.Redis };

    private static readonly string[] AllApps =
        [DaprNames.Apps.Directory, DaprNames.Apps.Router, DaprNames.Apps.Messaging, DaprNames.Apps.Delivery, DaprNames.Apps.Gateway];

    private Task<ChatSystem> StartAsync(ComponentSet set) =>
        ChatHarness.InProcessAsync(new() { Components = set, Redis = set == ComponentSet.Redis ? redis.Endpoint : null, Apps = AllApps });

    [Theory]
    [MemberData(nameof(Sets))]
    public async Task Bob_receives_and_alice_sees_sent_delivered_read_in_order(ComponentSet set)
    {
        await using var system = await StartAsync(set);
        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        await using var aliceHub = await HubClient.ConnectAsync(system.GatewayUrl, alice);
        await using var bobHub = await HubClient.ConnectAsync(system.GatewayUrl, bob, messagePack: true);

        var ack = await aliceHub.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage",
            new SendMessageArgs(null, bob.UserId, Guid.NewGuid().ToString(), "hello bob"));
        Assert.Equal(1ul, ack.Message.Seq);
        await aliceHub.WaitForAsync<MessageAcceptedDto>(a => a.Message.MsgId == ack.Message.MsgId);

        var received = await bobHub.WaitForAsync<MessageDto>(m => m.MsgId == ack.Message.MsgId);
        Assert.Equal("hello bob", received.Text);
        Assert.Equal(alice.UserId, received.SenderId);

        await bobHub.Connection.InvokeAsync<CursorDto>("UpdateReceipt", new UpdateReceiptArgs(received.ConversationId, "delivered", received.Seq));
        var delivered = await aliceHub.WaitForAsync<ReceiptDto>(r => r.UserId == bob.UserId && r.Kind == "delivered");
        await bobHub.Connection.InvokeAsync<CursorDto>("UpdateReceipt", new UpdateReceiptArgs(received.ConversationId, "read", received.Seq));
        var read = await aliceHub.WaitForAsync<ReceiptDto>(r => r.UserId == bob.UserId && r.Kind == "read");

        Assert.Equal(1ul, delivered.UpToSeq);
        Assert.Equal(1ul, read.UpToSeq);
        var order = aliceHub.Received.ToList();
        Assert.True(order.IndexOf(order.OfType<MessageAcceptedDto>().First()) < order.IndexOf(delivered));
        Assert.True(order.IndexOf(delivered) < order.IndexOf(read));
    }

    [Fact]
    public async Task With_the_routers_route_cache_serving_a_user_addressed_offline_gets_the_next_message_live_once_connected()
    {
        await using var system = await StartAsync(ComponentSet.Embedded);
        var cache = system.AppOf(DaprNames.Apps.Router).Services.GetRequiredService<RouteCache>();
        // The cache serves once its registration has been visible to publishers for the grace period.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!cache.Serving)
        {
            Assert.True(DateTime.UtcNow < until, "the router's route cache never started serving");
            await Task.Delay(50);
        }

        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        await using var aliceHub = await HubClient.ConnectAsync(system.GatewayUrl, alice);
        var first = await aliceHub.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(null, bob.UserId, Guid.NewGuid().ToString(), "m1"));
        Assert.True(cache.TryGet(bob.UserId, out var offline));
        Assert.Empty(offline);

        var bobHub = await HubClient.ConnectAsync(system.GatewayUrl, bob);
        await using (bobHub)
        {
            // Connected: the UserActor told the cache before the connect returned.
            Assert.False(cache.TryGet(bob.UserId, out _));
            var second = await aliceHub.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage",
                new SendMessageArgs(first.Message.ConversationId, null, Guid.NewGuid().ToString(), "m2"));
            Assert.Equal("m2", (await bobHub.WaitForAsync<MessageDto>(m => m.MsgId == second.Message.MsgId)).Text);
            Assert.True(cache.TryGet(bob.UserId, out var online));
            Assert.Single(online);
        }

        // Gone again: the next send finds him offline.
        until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (cache.TryGet(bob.UserId, out var cached) && cached.Count > 0)
        {
            Assert.True(DateTime.UtcNow < until, "the disconnect never reached the route cache");
            await Task.Delay(20);
        }

        await aliceHub.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(first.Message.ConversationId, null, Guid.NewGuid().ToString(), "m3"));
        Assert.True(cache.TryGet(bob.UserId, out var offlineAgain));
        Assert.Empty(offlineAgain);
    }

    [Fact]
    public async Task Offline_user_catches_up_by_sync_after_reconnecting()
    {
        await using var system = await StartAsync(ComponentSet.Embedded);
        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        await using var aliceHub = await HubClient.ConnectAsync(system.GatewayUrl, alice);
        var first = await aliceHub.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(null, bob.UserId, Guid.NewGuid().ToString(), "m1"));
        for (var i = 2; i <= 5; i++)
        {
            await aliceHub.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(first.Message.ConversationId, null, Guid.NewGuid().ToString(), $"m{i}"));
        }

        await using var bobHub = await HubClient.ConnectAsync(system.GatewayUrl, bob);
        var sync = await bobHub.Connection.InvokeAsync<SyncResultDto>("Sync", new SyncArgs([], 0));
        var delta = Assert.Single(sync.Deltas);
        Assert.Equal(["m1", "m2", "m3", "m4", "m5"], delta.Messages.Select(m => m.Text));
        Assert.False(sync.HasMore);
    }

    [Fact]
    public async Task Both_devices_of_bob_receive_and_his_own_sends_reach_his_other_device()
    {
        await using var system = await StartAsync(ComponentSet.Embedded);
        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        var bobTablet = bob with { AccessToken = await system.LoginAsync(bob, "tablet") };
        await using var aliceHub = await HubClient.ConnectAsync(system.GatewayUrl, alice);
        await using var bobPhone = await HubClient.ConnectAsync(system.GatewayUrl, bob);
        await using var bobTab = await HubClient.ConnectAsync(system.GatewayUrl, bobTablet);

        var ack = await aliceHub.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(null, bob.UserId, Guid.NewGuid().ToString(), "to both"));
        await bobPhone.WaitForAsync<MessageDto>(m => m.MsgId == ack.Message.MsgId);
        await bobTab.WaitForAsync<MessageDto>(m => m.MsgId == ack.Message.MsgId);

        var own = await bobPhone.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(ack.Message.ConversationId, null, Guid.NewGuid().ToString(), "from phone"));
        var onTablet = await bobTab.WaitForAsync<MessageDto>(m => m.MsgId == own.Message.MsgId);
        Assert.Equal(bob.UserId, onTablet.SenderId);
        await aliceHub.WaitForAsync<MessageDto>(m => m.MsgId == own.Message.MsgId);
        // The sending device has it through MessageAccepted, not twice.
        Assert.DoesNotContain(bobPhone.Received.OfType<MessageDto>(), m => m.MsgId == own.Message.MsgId);
    }

    [Fact]
    public async Task Each_member_of_a_group_of_100_and_the_senders_other_device_receive_the_message_exactly_once()
    {
        await using var system = await StartAsync(ComponentSet.Embedded);
        var owner = await system.RegisterAsync();
        var members = await Task.WhenAll(Enumerable.Range(0, 99).Select(_ => system.RegisterAsync()));
        var group = await owner.CreateGroupAsync("hundred", members);
        var hubs = await Task.WhenAll(members.Select(m => HubClient.ConnectAsync(system.GatewayUrl, m)));
        try
        {
            await using var ownerHub = await HubClient.ConnectAsync(system.GatewayUrl, owner);
            await using var ownerTablet = await HubClient.ConnectAsync(system.GatewayUrl, owner with { AccessToken = await system.LoginAsync(owner, "tablet") });
            var ack = await ownerHub.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(group, null, Guid.NewGuid().ToString(), "all hands"));
            await Task.WhenAll(hubs.Append(ownerTablet).Select(h => h.WaitForAsync<MessageDto>(m => m.MsgId == ack.Message.MsgId)));

            // A second message through the same path: once every member has it, a duplicate of the
            // first would have been delivered before it.
            var marker = await ownerHub.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(group, null, Guid.NewGuid().ToString(), "marker"));
            await Task.WhenAll(hubs.Select(h => h.WaitForAsync<MessageDto>(m => m.MsgId == marker.Message.MsgId)));
            Assert.All(hubs, h => Assert.Single(h.Received.OfType<MessageDto>(), m => m.MsgId == ack.Message.MsgId));
            // The sending connection has the ack instead; the sender's other device got the message.
            Assert.DoesNotContain(ownerHub.Received.OfType<MessageDto>(), m => m.MsgId == ack.Message.MsgId);
        }
        finally
        {
            foreach (var h in hubs)
            {
                await h.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Rate_limit_and_bad_input_are_hub_errors_with_codes_and_the_connection_survives()
    {
        await using var system = await StartAsync(ComponentSet.Embedded);
        // A gateway with a small bucket and slow refill, so the limit is reached however slow the machine is.
        var strict = await system.StartAppAsync(DaprNames.Apps.Gateway, new Dictionary<string, string?>
        {
            ["Gateway:RateLimits:Send:Burst"] = "5",
            ["Gateway:RateLimits:Send:PerSecond"] = "0.001",
        });
        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        await using var hub = await HubClient.ConnectAsync(strict.Url, alice);
        var first = await hub.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(null, bob.UserId, Guid.NewGuid().ToString(), "hi"));

        var empty = await Assert.ThrowsAsync<HubException>(() => hub.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(first.Message.ConversationId, null, Guid.NewGuid().ToString(), "")));
        Assert.Contains(ErrorCodes.ContentEmpty, empty.Message, StringComparison.Ordinal);
        var notMine = await Assert.ThrowsAsync<HubException>(() => hub.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs("grp:nosuchgroup", null, Guid.NewGuid().ToString(), "x")));
        Assert.Contains(ErrorCodes.NotMember, notMine.Message, StringComparison.Ordinal);
        var badKind = await Assert.ThrowsAsync<HubException>(() => hub.Connection.InvokeAsync<CursorDto>("UpdateReceipt", new UpdateReceiptArgs(first.Message.ConversationId, "seen", 1)));
        Assert.Contains(ErrorCodes.InvalidArgument, badKind.Message, StringComparison.Ordinal);

        // Past the burst, sends are refused with rate_limited and nothing is stored.
        HubException? limited = null;
        var accepted = 1;
        for (var i = 0; i < 20 && limited is null; i++)
        {
            try
            {
                await hub.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(first.Message.ConversationId, null, Guid.NewGuid().ToString(), $"flood {i}"));
                accepted++;
            }
            catch (HubException ex)
            {
                limited = ex;
            }
        }

        Assert.NotNull(limited);
        Assert.Contains(ErrorCodes.RateLimited + ":", limited.Message, StringComparison.Ordinal);
        var history = await hub.Connection.InvokeAsync<HistoryDto>("GetHistory", new GetHistoryArgs(first.Message.ConversationId));
        Assert.Equal((ulong)accepted, history.LastSeq);
        Assert.Equal(HubConnectionState.Connected, hub.Connection.State);
    }

    [Fact]
    public async Task Users_on_different_gateway_instances_can_talk()
    {
        await using var system = await StartAsync(ComponentSet.Embedded);
        var second = await system.StartAppAsync(DaprNames.Apps.Gateway);
        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        await using var aliceHub = await HubClient.ConnectAsync(system.GatewayUrl, alice);
        await using var bobHub = await HubClient.ConnectAsync(second.Url, bob);

        var ack = await aliceHub.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(null, bob.UserId, Guid.NewGuid().ToString(), "across instances"));
        await bobHub.WaitForAsync<MessageDto>(m => m.MsgId == ack.Message.MsgId);
        await bobHub.Connection.InvokeAsync<CursorDto>("UpdateReceipt", new UpdateReceiptArgs(ack.Message.ConversationId, "read", ack.Message.Seq));
        await aliceHub.WaitForAsync<ReceiptDto>(r => r.UserId == bob.UserId && r.Kind == "read");

        var reply = await bobHub.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(ack.Message.ConversationId, null, Guid.NewGuid().ToString(), "back"));
        await aliceHub.WaitForAsync<MessageDto>(m => m.MsgId == reply.Message.MsgId);
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public async Task When_a_gateway_instance_dies_its_clients_reconnect_to_the_other_and_miss_nothing(ComponentSet set)
    {
        await using var system = await StartAsync(set);
        var doomed = await system.StartAppAsync(DaprNames.Apps.Gateway);
        var survivor = system.InstanceOf(DaprNames.Apps.Gateway);
        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        await using var aliceHub = await HubClient.ConnectAsync(survivor.Url, alice);
        var bobHub = await HubClient.ConnectAsync(doomed.Url, bob);

        var first = await aliceHub.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(null, bob.UserId, Guid.NewGuid().ToString(), "before"));
        var seen = await bobHub.WaitForAsync<MessageDto>(m => m.MsgId == first.Message.MsgId);
        var sync0 = await bobHub.Connection.InvokeAsync<SyncResultDto>("Sync", new SyncArgs([], 0));
        var epoch = sync0.Deltas.Single().Epoch;

        await system.KillAsync(doomed);
        await bobHub.DisposeAsync();

        // Alice keeps talking while Bob is away; these are acknowledged, so Bob must get every one.
        var sentWhileAway = new List<MessageAcceptedDto>();
        for (var i = 0; i < 5; i++)
        {
            sentWhileAway.Add(await aliceHub.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(first.Message.ConversationId, null, Guid.NewGuid().ToString(), $"while away {i}")));
        }

        await using var bobAgain = await HubClient.ConnectAsync(survivor.Url, bob);
        var sync = await bobAgain.Connection.InvokeAsync<SyncResultDto>("Sync", new SyncArgs([new SyncCursorDto(seen.ConversationId, epoch, seen.Seq)], 0));
        var delta = sync.Deltas.Single();
        Assert.Equal("", delta.Gap);
        Assert.Equal(sentWhileAway.Select(a => a.Message.MsgId), delta.Messages.Select(m => m.MsgId));

        var after = await aliceHub.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(first.Message.ConversationId, null, Guid.NewGuid().ToString(), "after"));
        await bobAgain.WaitForAsync<MessageDto>(m => m.MsgId == after.Message.MsgId);
    }
}
