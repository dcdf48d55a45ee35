using Chat.Contracts.V1;
using Chat.Domain;
using Chat.Messaging;
using Chat.ServiceDefaults.Auth;
using Chat.Unit.Tests.Fakes;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Chat.Unit.Tests.Messaging;

/// <summary>Messaging's Sync: what a reconnecting client gets for its cursors (the gap logic).</summary>
[Trait("Category", "Unit")]
[Trait("Area", "House")]
public sealed class SyncTests : IAsyncLifetime
{
    private MessagingHarness _m = null!;
    private string _dm = "";

    public async Task InitializeAsync()
    {
        _m = await MessagingHarness.StartAsync();
        _dm = _m.Directory.Direct("ann", "carl");
    }

    public async Task DisposeAsync() => await _m.DisposeAsync();

    private static SyncCursor Cursor(string conversationId, ulong lastSeq, ulong epoch = 0) =>
        new() { ConversationId = conversationId, LastSeq = lastSeq, Epoch = epoch };

    private async Task<ulong> EpochAsync(string conversationId) => (await _m.Store.GetMetaAsync(conversationId, CancellationToken.None))!.Epoch;

    [Fact]
    public async Task A_conversation_the_client_does_not_know_comes_whole_with_its_receipts()
    {
        await _m.SendAsync(_dm, "carl", 3);

        var response = await _m.SyncAsync("ann", new SyncRequest());

        var delta = Assert.Single(response.Deltas);
        Assert.Equal(_dm, delta.ConversationId);
        Assert.Equal(ConversationKind.Direct, delta.Kind);
        Assert.Equal([1ul, 2ul, 3ul], delta.Messages.Select(m => m.Seq));
        Assert.Equal(3ul, delta.LastSeq);
        Assert.Equal(await EpochAsync(_dm), delta.Epoch);
        Assert.Equal(SyncGapReason.Unspecified, delta.Gap);
        Assert.False(delta.HasMore);
        Assert.Equal(3ul, delta.Receipts.Single(r => r.UserId == "carl").ReadSeq); // the sender has read their own
    }

    [Fact]
    public async Task A_client_behind_gets_only_what_follows_its_cursor()
    {
        await _m.SendAsync(_dm, "carl", 5);

        var response = await _m.SyncAsync("ann", new SyncRequest { Cursors = { Cursor(_dm, 2, await EpochAsync(_dm)) } });

        Assert.Equal([3ul, 4ul, 5ul], Assert.Single(response.Deltas).Messages.Select(m => m.Seq));
    }

    [Fact]
    public async Task A_client_up_to_date_gets_no_delta()
    {
        await _m.SendAsync(_dm, "carl", 2);

        var response = await _m.SyncAsync("ann", new SyncRequest { Cursors = { Cursor(_dm, 2, await EpochAsync(_dm)) } });

        Assert.Empty(response.Deltas);
        Assert.False(response.HasMore);
    }

    [Fact]
    public async Task Another_epoch_means_the_history_was_rebuilt_and_the_client_starts_over()
    {
        await _m.SendAsync(_dm, "carl", 3);

        var response = await _m.SyncAsync("ann", new SyncRequest { Cursors = { Cursor(_dm, 2, await EpochAsync(_dm) + 1) } });

        var delta = Assert.Single(response.Deltas);
        Assert.Equal(SyncGapReason.Reset, delta.Gap);
        Assert.Equal([1ul, 2ul, 3ul], delta.Messages.Select(m => m.Seq));
    }

    [Fact]
    public async Task A_cursor_past_the_last_seq_is_reported_and_gets_no_messages()
    {
        await _m.SendAsync(_dm, "carl", 2);

        var response = await _m.SyncAsync("ann", new SyncRequest { Cursors = { Cursor(_dm, 9, await EpochAsync(_dm)) } });

        var delta = Assert.Single(response.Deltas);
        Assert.Equal(SyncGapReason.CursorAhead, delta.Gap);
        Assert.Equal(3ul, delta.GapFromSeq);
        Assert.Equal(2ul, delta.LastSeq);
        Assert.Empty(delta.Messages);
    }

    [Fact]
    public async Task The_limit_is_one_budget_across_conversations_and_the_gap_says_where_to_go_on()
    {
        var group = _m.Directory.Group("g1", "ann", "carl");
        await _m.SendAsync(_dm, "carl", 3);
        await _m.SendAsync(group, "carl", 3);

        var response = await _m.SyncAsync("ann", new SyncRequest { Limit = 4 });

        Assert.True(response.HasMore);
        var byId = response.Deltas.ToDictionary(d => d.ConversationId);
        Assert.Equal(4, response.Deltas.Sum(d => d.Messages.Count));
        var cut = response.Deltas.Single(d => d.HasMore);
        Assert.Equal(SyncGapReason.Limit, cut.Gap);
        Assert.Equal((ulong)cut.Messages.Count + 1, cut.GapFromSeq);
        Assert.Equal(2, byId.Count);
    }

    [Fact]
    public async Task A_group_the_caller_left_is_reported_removed_but_an_unknown_direct_one_is_not_mentioned()
    {
        var group = _m.Directory.Group("g1", "carl", "ann");
        await _m.SendAsync(group, "carl");
        _m.Directory.Remove(group, "ann");
        var strangers = ConversationId.Direct("carl", "dora").Value;

        var response = await _m.SyncAsync("ann", new SyncRequest { Cursors = { Cursor(group, 1), Cursor(strangers, 1) } });

        var removed = Assert.Single(response.Deltas, d => d.ConversationId == group);
        Assert.True(removed.Removed);
        Assert.Empty(removed.Messages);
        Assert.DoesNotContain(response.Deltas, d => d.ConversationId == strangers);
    }

    [Fact]
    public async Task With_receipts_since_an_unchanged_conversation_reports_only_cursors_that_moved()
    {
        await _m.SendAsync(_dm, "ann", 2);
        _m.Time.Advance(TimeSpan.FromHours(1)); // past the send's own cursor move (stamped by the actor's system clock)
        var first = await _m.SyncAsync("ann", new SyncRequest { Cursors = { Cursor(_dm, 2, await EpochAsync(_dm)) }, ReceiptsSince = Timestamp.FromDateTimeOffset(_m.Time.GetUtcNow()) });
        Assert.Empty(first.Deltas);

        _m.Time.Advance(TimeSpan.FromMinutes(1));
        await _m.ReceiptAsync("carl", _dm, ReceiptKind.Read, 2);
        var second = await _m.SyncAsync("ann", new SyncRequest { Cursors = { Cursor(_dm, 2, await EpochAsync(_dm)) }, ReceiptsSince = first.SyncedAt });

        var delta = Assert.Single(second.Deltas);
        Assert.Empty(delta.Messages);
        var moved = Assert.Single(delta.Receipts);
        Assert.Equal(("carl", 2ul), (moved.UserId, moved.ReadSeq));
    }

    [Fact]
    public async Task Read_cursors_in_sync_follow_read_receipt_privacy()
    {
        await _m.SendAsync(_dm, "carl", 2);
        await _m.ReceiptAsync("ann", _dm, ReceiptKind.Read, 2);
        _m.Directory.HideReadReceipts("ann");
        _m.Time.Advance(new ReceiptPrivacyOptions().CacheTtl + TimeSpan.FromSeconds(1)); // settings are cached this long

        var forCarl = Assert.Single((await _m.SyncAsync("carl", new SyncRequest())).Deltas).Receipts.Single(r => r.UserId == "ann");
        var forAnn = Assert.Single((await _m.SyncAsync("ann", new SyncRequest())).Deltas).Receipts;

        Assert.Equal((2ul, 0ul), (forCarl.DeliveredSeq, forCarl.ReadSeq));
        Assert.Equal(2ul, forAnn.Single(r => r.UserId == "ann").ReadSeq); // own cursor whole
        Assert.Equal(0ul, forAnn.Single(r => r.UserId == "carl").ReadSeq); // hiding works both ways
    }

    [Fact]
    public async Task Bad_cursors_and_limits_are_refused_with_their_codes()
    {
        var badId = await Assert.ThrowsAsync<RpcException>(() => _m.SyncAsync("ann", new SyncRequest { Cursors = { Cursor("nope", 1) } }));
        var badLimit = await Assert.ThrowsAsync<RpcException>(() => _m.SyncAsync("ann", new SyncRequest { Limit = ChatLimits.MaxSyncLimit + 1 }));

        Assert.Equal((StatusCode.InvalidArgument, ErrorCodes.InvalidConversationId), (badId.StatusCode, badId.ErrorCode()));
        Assert.Equal((StatusCode.InvalidArgument, ErrorCodes.InvalidLimit), (badLimit.StatusCode, badLimit.ErrorCode()));
    }

    [Fact]
    public async Task Sync_needs_a_valid_access_token()
    {
        var none = await Assert.ThrowsAsync<RpcException>(() =>
            _m.Calls.Anonymous("/chat.v1.MessagingService/Sync", new SyncRequest(), _m.Service.Sync));
        var forged = await Assert.ThrowsAsync<RpcException>(() =>
            _m.Calls.Anonymous("/chat.v1.MessagingService/Sync", new SyncRequest(), _m.Service.Sync, new Metadata { { "authorization", "Bearer not.a.token" } }));

        Assert.Equal(StatusCode.Unauthenticated, none.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, forged.StatusCode);
    }
}
