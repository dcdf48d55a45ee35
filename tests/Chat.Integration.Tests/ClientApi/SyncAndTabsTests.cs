using Chat.Gateway.Hubs;
using Chat.Integration.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Integration.Tests.ClientApi;

/// <summary>Issue 16: receipts that moved while offline come back in Sync; own sends reach the sender's other tabs.</summary>
[Trait("Area", "ClientApi")]
public sealed class SyncAndTabsTests(ClientApiSystem fx) : IClassFixture<ClientApiSystem>
{
    [Fact]
    public async Task Sync_returns_receipts_that_moved_in_a_conversation_with_no_new_messages()
    {
        var alice = await fx.UserAsync();
        var bob = await fx.UserAsync();
        var ack = await alice.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(null, bob.User.UserId, Guid.NewGuid().ToString(), "read me"));
        var cid = ack.Message.ConversationId;
        var first = await alice.Connection.InvokeAsync<SyncResultDto>("Sync", new SyncArgs([new SyncCursorDto(cid, 0, ack.Message.Seq)]));
        Assert.NotNull(first.SyncedAt);
        var epoch = first.Deltas.FirstOrDefault(d => d.ConversationId == cid)?.Epoch ?? 0;

        // Alice is "offline" (she simply does not look at live events); bob reads.
        await bob.Connection.InvokeAsync<CursorDto>("UpdateReceipt", new UpdateReceiptArgs(cid, "read", ack.Message.Seq));

        var next = await alice.Connection.InvokeAsync<SyncResultDto>("Sync", new SyncArgs([new SyncCursorDto(cid, epoch, ack.Message.Seq)], 0, first.SyncedAt));
        var delta = Assert.Single(next.Deltas);
        Assert.Empty(delta.Messages);
        Assert.Equal(ack.Message.Seq, delta.LastSeq);
        Assert.Equal(ack.Message.Seq, Assert.Single(delta.Receipts, r => r.UserId == bob.User.UserId).ReadSeq);

        // Without receiptsSince (or once nothing moved) a conversation without new messages stays out.
        Assert.Empty((await alice.Connection.InvokeAsync<SyncResultDto>("Sync", new SyncArgs([new SyncCursorDto(cid, epoch, ack.Message.Seq)]))).Deltas);
        var later = DateTimeOffset.UtcNow.AddSeconds(1);
        Assert.Empty((await alice.Connection.InvokeAsync<SyncResultDto>("Sync", new SyncArgs([new SyncCursorDto(cid, epoch, ack.Message.Seq)], 0, later))).Deltas);
    }

    [Fact]
    public async Task Two_tabs_of_one_device_both_show_a_message_sent_from_either()
    {
        var alice = await fx.UserAsync();
        var bob = await fx.UserAsync();
        // A second tab: same user, same device, same token.
        await using var tab2 = await HubClient.ConnectAsync(fx.System.GatewayUrl, alice.User);
        var fromTab1 = await alice.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(null, bob.User.UserId, Guid.NewGuid().ToString(), "from tab 1"));
        await tab2.WaitForAsync<MessageDto>(m => m.MsgId == fromTab1.Message.MsgId);
        var fromTab2 = await tab2.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(fromTab1.Message.ConversationId, null, Guid.NewGuid().ToString(), "from tab 2"));
        await alice.WaitForAsync<MessageDto>(m => m.MsgId == fromTab2.Message.MsgId);
        await bob.WaitForAsync<MessageDto>(m => m.MsgId == fromTab2.Message.MsgId);

        // The sending tab has its message through the ack, not again as MessageReceived.
        Assert.DoesNotContain(alice.Received.OfType<MessageDto>(), m => m.MsgId == fromTab1.Message.MsgId);
        Assert.DoesNotContain(tab2.Received.OfType<MessageDto>(), m => m.MsgId == fromTab2.Message.MsgId);
    }
}

/// <summary>Issue 16: the new shapes travel over MessagePack too (the .NET and mobile clients' protocol).</summary>
[Trait("Area", "ClientApi")]
public sealed class MessagePackHubTests(ClientApiSystem fx) : IClassFixture<ClientApiSystem>
{
    [Fact]
    public async Task Paged_list_privacy_and_sync_with_receipts_since_work_over_MessagePack()
    {
        var user = await fx.System.RegisterAsync();
        var peer = await fx.System.RegisterAsync();
        await using var hub = await HubClient.ConnectAsync(fx.System.GatewayUrl, user, messagePack: true);
        var ack = await hub.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(null, peer.UserId, Guid.NewGuid().ToString(), "over msgpack"));
        var page = await hub.Connection.InvokeAsync<ConversationPageDto>("ListConversations", new ListConversationsArgs(null, 10));
        Assert.Equal(ack.Message.ConversationId, Assert.Single(page.Conversations).ConversationId);
        Assert.Single((await hub.Connection.InvokeCoreAsync<ConversationPageDto>("ListConversations", [null])).Conversations);
        Assert.Equal("everyone", (await hub.Connection.InvokeAsync<PrivacyDto>("GetPrivacy")).LastSeen);
        var sync = await hub.Connection.InvokeAsync<SyncResultDto>("Sync", new SyncArgs([], 0, DateTimeOffset.UtcNow.AddMinutes(-1)));
        Assert.NotNull(sync.SyncedAt);
    }
}
