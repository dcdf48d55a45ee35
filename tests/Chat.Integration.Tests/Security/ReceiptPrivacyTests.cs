using Chat.Contracts.V1;
using Chat.Domain;
using Chat.Gateway.Hubs;
using Chat.Integration.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Integration.Tests.Security;

/// <summary>
/// Read-receipt privacy, both ways (WhatsApp's rule), end to end through SignalR, messaging,
/// delivery and the dev sidecar: GetReceipts, Sync and the live ReceiptUpdated events.
/// </summary>
[Trait("Area", "Security")]
public sealed class ReceiptPrivacyTests
{
    private static readonly string[] Apps =
        [DaprNames.Apps.Directory, DaprNames.Apps.Router, DaprNames.Apps.Messaging, DaprNames.Apps.Delivery, DaprNames.Apps.Gateway];

    private static Task<ChatSystem> StartAsync() =>
        ChatHarness.InProcessAsync(new()
        {
            // A short cache, so a settings change is seen at once by the polls below.
            Settings = new Dictionary<string, string?> { ["Messaging:ReceiptPrivacy:CacheTtl"] = "00:00:00.200" },
            Apps = Apps,
        });

    [Fact]
    public async Task A_user_who_hides_read_receipts_shows_only_delivery_and_sees_nobody_elses_reads()
    {
        await using var system = await StartAsync();
        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        await HideReadReceiptsAsync(bob);
        await using var aliceHub = await HubClient.ConnectAsync(system.GatewayUrl, alice);
        await using var bobHub = await HubClient.ConnectAsync(system.GatewayUrl, bob);

        var toBob = await aliceHub.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(null, bob.UserId, Guid.NewGuid().ToString("N"), "hi bob"));
        var conversation = toBob.Message.ConversationId;
        await bobHub.WaitForAsync<MessageDto>(m => m.MsgId == toBob.Message.MsgId);

        // Bob reads: alice learns of the delivery only; bob's own devices learn of his read.
        await bobHub.Connection.InvokeAsync<CursorDto>("UpdateReceipt", new UpdateReceiptArgs(conversation, "read", 1));
        await aliceHub.WaitForAsync<ReceiptDto>(r => r.UserId == bob.UserId && r.Kind == "delivered" && r.UpToSeq == 1);
        await bobHub.WaitForAsync<ReceiptDto>(r => r.UserId == bob.UserId && r.Kind == "read" && r.UpToSeq == 1);
        var bobCursor = Assert.Single(await aliceHub.Connection.InvokeAsync<IReadOnlyList<CursorDto>>("GetReceipts", conversation), c => c.UserId == bob.UserId);
        Assert.Equal((1ul, 0ul), (bobCursor.DeliveredSeq, bobCursor.ReadSeq));
        var synced = Assert.Single((await aliceHub.Connection.InvokeAsync<SyncResultDto>("Sync", new SyncArgs([], 0))).Deltas);
        Assert.Equal(0ul, Assert.Single(synced.Receipts, c => c.UserId == bob.UserId).ReadSeq);
        Assert.Equal(1ul, Assert.Single(await bobHub.Connection.InvokeAsync<IReadOnlyList<CursorDto>>("GetReceipts", conversation), c => c.UserId == bob.UserId).ReadSeq);

        // Reciprocal: alice reads bob's reply, and bob does not see it.
        var toAlice = await bobHub.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(conversation, null, Guid.NewGuid().ToString("N"), "hi alice"));
        await aliceHub.WaitForAsync<MessageDto>(m => m.MsgId == toAlice.Message.MsgId);
        await aliceHub.Connection.InvokeAsync<CursorDto>("UpdateReceipt", new UpdateReceiptArgs(conversation, "read", 2));
        await bobHub.WaitForAsync<ReceiptDto>(r => r.UserId == alice.UserId && r.Kind == "delivered" && r.UpToSeq == 2);
        var aliceCursor = Assert.Single(await bobHub.Connection.InvokeAsync<IReadOnlyList<CursorDto>>("GetReceipts", conversation), c => c.UserId == alice.UserId);
        Assert.Equal((2ul, 0ul), (aliceCursor.DeliveredSeq, aliceCursor.ReadSeq));
        Assert.Equal(2ul, Assert.Single(await aliceHub.Connection.InvokeAsync<IReadOnlyList<CursorDto>>("GetReceipts", conversation), c => c.UserId == alice.UserId).ReadSeq);

        // A later event proves the stream moved on; no read receipt crossed over meanwhile.
        var marker = await aliceHub.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(conversation, null, Guid.NewGuid().ToString("N"), "marker"));
        await bobHub.WaitForAsync<MessageDto>(m => m.MsgId == marker.Message.MsgId);
        await aliceHub.WaitForAsync<MessageAcceptedDto>(m => m.Message.MsgId == marker.Message.MsgId);
        Assert.DoesNotContain(aliceHub.Received.OfType<ReceiptDto>(), r => r.UserId == bob.UserId && r.Kind == "read");
        Assert.DoesNotContain(bobHub.Received.OfType<ReceiptDto>(), r => r.UserId == alice.UserId && r.Kind == "read");

        // Turning receipts back on shows reads again (after the short cache).
        await ShowReadReceiptsAsync(bob);
        // (Bob's read cursor is at 2 by now: sending "hi alice" moved it.)
        await Wait.UntilAsync(async () => await ReadSeqAsync(aliceHub, conversation, bob.UserId) >= 1,
            "bob's read cursor to become visible to alice again", TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task In_groups_read_by_counts_leave_out_members_who_hide()
    {
        await using var system = await StartAsync();
        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        var carol = await system.RegisterAsync();
        await HideReadReceiptsAsync(carol);
        var group = await alice.CreateGroupAsync("trip", bob, carol);
        var sent = await alice.SendAsync(group, "who read this?");
        await bob.Messaging.UpdateReceiptAsync(new UpdateReceiptRequest { ConversationId = group, Kind = ReceiptKind.Read, UpToSeq = sent.Message.Seq });
        await carol.Messaging.UpdateReceiptAsync(new UpdateReceiptRequest { ConversationId = group, Kind = ReceiptKind.Read, UpToSeq = sent.Message.Seq });

        var receipts = (await alice.Messaging.GetReceiptsAsync(new GetReceiptsRequest { ConversationId = group })).Cursors;
        var readBy = receipts.Where(c => c.UserId != alice.UserId && c.ReadSeq >= sent.Message.Seq).Select(c => c.UserId).ToList();
        Assert.Equal([bob.UserId], readBy);
        Assert.Equal(sent.Message.Seq, receipts.Single(c => c.UserId == carol.UserId).DeliveredSeq);

        // Carol, who hides, sees no one's reads, only her own.
        var carolView = (await carol.Messaging.GetReceiptsAsync(new GetReceiptsRequest { ConversationId = group })).Cursors;
        Assert.Equal(0ul, carolView.Single(c => c.UserId == bob.UserId).ReadSeq);
        Assert.Equal(sent.Message.Seq, carolView.Single(c => c.UserId == carol.UserId).ReadSeq);
    }

    private static async Task<ulong> ReadSeqAsync(HubClient hub, string conversation, string userId) =>
        (await hub.Connection.InvokeAsync<IReadOnlyList<CursorDto>>("GetReceipts", conversation)).Single(c => c.UserId == userId).ReadSeq;

    private static Task HideReadReceiptsAsync(TestUser user) => SetReadReceiptsAsync(user, false);

    private static Task ShowReadReceiptsAsync(TestUser user) => SetReadReceiptsAsync(user, true);

    private static async Task SetReadReceiptsAsync(TestUser user, bool on) =>
        await user.Directory.UpdatePrivacySettingsAsync(new UpdatePrivacySettingsRequest
        {
            Settings = new PrivacySettings { LastSeen = LastSeenVisibility.Everyone, ReadReceipts = on, PushPreviews = true },
        });
}
