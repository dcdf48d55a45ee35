using Chat.Domain;
using Chat.Gateway.Hubs;
using Chat.Integration.Tests.Infrastructure;
using Chat.Integration.Tests.Reliability.Workload;

namespace Chat.Integration.Tests.Reliability;

/// <summary>
/// Issue 11: a send retried with the same client_msg_id is stored once, whether the ack was
/// lost, the gateway died in between, or two devices of the user sent it at the same moment.
/// </summary>
[Trait("Area", "Reliability")]
[Collection(ReliabilityCollection.Name)]
public sealed class RetryTests(OneGatewaySystem fixture) : IClassFixture<OneGatewaySystem>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private AppProcesses System => fixture.System;

    [Fact]
    public async Task Resent_after_a_lost_ack_it_is_stored_once()
    {
        var (alice, bob, device, conversation) = await StartAsync();
        await using var _ = device;
        var lostId = NewId("lost-ack");

        // The client sends and never sees the ack (its incoming frames are held back), then its
        // connection drops: the server stored the message, the client cannot know.
        device.FreezeIncoming();
        var lost = device.TrySendAsync(conversation, null, lostId, "the ack of this one is lost", 1, conversation);
        await WaitStoredAsync(bob, conversation, lostId);
        device.DropConnection();
        Assert.Null(await lost);

        var retry = await ResendUntilAckedAsync(device, conversation, lostId, "the ack of this one is lost");
        Assert.True(retry.Duplicate);
        await AssertStoredOnceAsync(bob, conversation, lostId, retry);
    }

    [Fact]
    public async Task Resent_after_a_gateway_restart_it_is_stored_once()
    {
        var (alice, bob, device, conversation) = await StartAsync();
        await using var _ = device;
        var gateway = System.InstanceOf(DaprNames.Apps.Gateway);
        var restartId = NewId("gateway-restart");

        device.FreezeIncoming();
        var lost = device.TrySendAsync(conversation, null, restartId, "sent just before the gateway died", 1, conversation);
        await WaitStoredAsync(bob, conversation, restartId);
        gateway.Kill();
        Assert.Null(await lost);
        await gateway.StartAsync();

        var retry = await ResendUntilAckedAsync(device, conversation, restartId, "sent just before the gateway died");
        Assert.True(retry.Duplicate);
        Assert.Equal(gateway.Url, device.GatewayUrl);
        await AssertStoredOnceAsync(bob, conversation, restartId, retry);
    }

    [Fact]
    public async Task Sent_from_two_devices_at_once_it_is_stored_once()
    {
        var (alice, bob, phone, conversation) = await StartAsync();
        await using var _ = phone;
        var history = new WorkloadHistory();
        await using var tablet = new WorkloadClient("alice-tablet", alice.UserId, await System.LoginAsync(alice, "tablet"), () => System.LiveGatewayUrls, history);
        await tablet.ConnectAsync(Patience);

        for (var i = 0; i < 8; i++)
        {
            var id = NewId($"both-devices-{i}");
            var acks = await Task.WhenAll(
                ResendUntilAckedAsync(phone, conversation, id, $"same message {i}"),
                ResendUntilAckedAsync(tablet, conversation, id, $"same message {i}"));
            Assert.Equal(acks[0].Message.MsgId, acks[1].Message.MsgId);
            Assert.Single(acks, a => !a.Duplicate);
        }

        var stored = await ChatWorkload.ReadHistoryAsync(bob, conversation);
        Assert.Equal(Enumerable.Range(1, stored.Count).Select(i => (ulong)i), stored.Select(m => m.Seq));
        Assert.Equal(9, stored.Count);
        Assert.Equal(stored.Count, stored.Select(m => m.ClientMsgId).Distinct().Count());
    }

    /// <summary>Two users, Alice's phone connected, and their 1:1 conversation started by one message.</summary>
    private async Task<(TestUser Alice, TestUser Bob, WorkloadClient Device, string Conversation)> StartAsync()
    {
        var alice = await System.RegisterAsync();
        var bob = await System.RegisterAsync();
        var device = new WorkloadClient("alice-phone", alice.UserId, alice.AccessToken, () => System.LiveGatewayUrls, new WorkloadHistory());
        await device.ConnectAsync(Patience);
        var first = await ResendUntilAckedAsync(device, null, NewId("first"), "hello", peer: bob.UserId);
        return (alice, bob, device, first.Message.ConversationId);
    }

    private static async Task<MessageAcceptedDto> ResendUntilAckedAsync(WorkloadClient device, string? conversation, string clientMsgId, string text, string? peer = null)
    {
        var deadline = DateTime.UtcNow + Patience;
        for (var attempt = 1; ; attempt++)
        {
            if (await device.TrySendAsync(conversation, peer, clientMsgId, text, attempt, conversation ?? "") is { } ack)
            {
                return ack;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{clientMsgId} was not acknowledged within {Patience}; last error: {device.LastError}");
            await Task.Delay(200);
        }
    }

    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(64, prefix.Length + 33)];

    private static Task WaitStoredAsync(TestUser reader, string conversation, string clientMsgId) =>
        Wait.UntilAsync(async () => (await ChatWorkload.ReadHistoryAsync(reader, conversation)).Any(m => m.ClientMsgId == clientMsgId),
            $"{clientMsgId} to be stored", Patience);

    private static async Task AssertStoredOnceAsync(TestUser reader, string conversation, string clientMsgId, MessageAcceptedDto ack)
    {
        var stored = await ChatWorkload.ReadHistoryAsync(reader, conversation);
        var only = Assert.Single(stored, m => m.ClientMsgId == clientMsgId);
        Assert.Equal(only.MsgId, ack.Message.MsgId);
        Assert.Equal(only.Seq, ack.Message.Seq);
        Assert.Equal(Enumerable.Range(1, stored.Count).Select(i => (ulong)i), stored.Select(m => m.Seq));
    }
}
