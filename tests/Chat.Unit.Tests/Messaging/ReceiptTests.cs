using Chat.Contracts.V1;
using Chat.Core;
using Chat.Domain;
using Chat.Messaging;
using Chat.ServiceDefaults.Auth;
using Chat.Unit.Tests.Fakes;
using Grpc.Core;

namespace Chat.Unit.Tests.Messaging;

/// <summary>Receipt cursors (forward only, read implies delivered, no lost moves) and who learns of them.</summary>
[Trait("Category", "Unit")]
[Trait("Area", "House")]
public sealed class ReceiptTests : IAsyncLifetime
{
    private MessagingHarness _m = null!;
    private string _group = "";

    public async Task InitializeAsync()
    {
        _m = await MessagingHarness.StartAsync();
        _group = _m.Directory.Group("g1", "ann", "carl", "dora");
        await _m.SendAsync(_group, "ann", 5);
    }

    public async Task DisposeAsync() => await _m.DisposeAsync();

    [Fact]
    public async Task Read_moves_both_cursors_and_every_member_hears_of_it_once()
    {
        var moved = await _m.ReceiptAsync("carl", _group, ReceiptKind.Read, 3);
        var repeated = await _m.ReceiptAsync("carl", _group, ReceiptKind.Read, 3);

        Assert.True(moved.Changed);
        Assert.Equal((3ul, 3ul), (moved.Cursor.DeliveredSeq, moved.Cursor.ReadSeq));
        Assert.False(repeated.Changed);
        var evt = Assert.Single(_m.ReceiptEvents());
        Assert.Equal((ReceiptKind.Read, 3ul, "carl"), (evt.Kind, evt.UpToSeq, evt.UserId));
        Assert.Equal(["ann", "carl", "dora"], evt.MemberIds);
    }

    [Fact]
    public async Task Cursors_never_move_back()
    {
        await _m.ReceiptAsync("carl", _group, ReceiptKind.Read, 4);

        var older = await _m.ReceiptAsync("carl", _group, ReceiptKind.Delivered, 2);
        var delivered = await _m.ReceiptAsync("carl", _group, ReceiptKind.Delivered, 5);

        Assert.False(older.Changed);
        Assert.Equal((4ul, 4ul), (older.Cursor.DeliveredSeq, older.Cursor.ReadSeq));
        Assert.Equal((5ul, 4ul), (delivered.Cursor.DeliveredSeq, delivered.Cursor.ReadSeq));
    }

    [Theory]
    [InlineData(0ul)]
    [InlineData(6ul)]
    public async Task A_seq_outside_the_log_is_refused(ulong upTo)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => _m.ReceiptAsync("carl", _group, ReceiptKind.Read, upTo));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Empty(_m.ReceiptEvents());
    }

    [Fact]
    public async Task A_non_member_can_neither_move_nor_read_cursors()
    {
        var move = await Assert.ThrowsAsync<RpcException>(() => _m.ReceiptAsync("eve", _group, ReceiptKind.Read, 1));
        var read = await Assert.ThrowsAsync<RpcException>(() => _m.ReceiptsAsync("eve", _group));

        Assert.Equal((StatusCode.PermissionDenied, ErrorCodes.NotMember), (move.StatusCode, move.ErrorCode()));
        Assert.Equal((StatusCode.PermissionDenied, ErrorCodes.NotMember), (read.StatusCode, read.ErrorCode()));
    }

    [Fact]
    public async Task A_reader_who_hides_read_receipts_tells_only_their_own_devices_and_the_others_see_delivery()
    {
        _m.Directory.HideReadReceipts("carl");

        await _m.ReceiptAsync("carl", _group, ReceiptKind.Read, 2);

        var events = _m.ReceiptEvents();
        var read = Assert.Single(events, e => e.Kind == ReceiptKind.Read);
        Assert.Equal(["carl"], read.MemberIds);
        var delivered = Assert.Single(events, e => e.Kind == ReceiptKind.Delivered);
        Assert.Equal(["ann", "dora"], delivered.MemberIds);
        Assert.Equal(2ul, delivered.UpToSeq);
    }

    [Fact]
    public async Task A_member_who_hides_does_not_hear_of_others_reading()
    {
        _m.Directory.HideReadReceipts("dora");

        await _m.ReceiptAsync("carl", _group, ReceiptKind.Read, 2);

        Assert.Equal(["ann", "carl"], _m.ReceiptEvents().Single(e => e.Kind == ReceiptKind.Read).MemberIds);
        Assert.Equal(["dora"], _m.ReceiptEvents().Single(e => e.Kind == ReceiptKind.Delivered).MemberIds);
    }

    [Fact]
    public async Task GetReceipts_shows_read_cursors_only_where_privacy_allows()
    {
        await _m.ReceiptAsync("carl", _group, ReceiptKind.Read, 3);
        await _m.ReceiptAsync("dora", _group, ReceiptKind.Read, 4);
        _m.Directory.HideReadReceipts("dora");
        _m.Time.Advance(new ReceiptPrivacyOptions().CacheTtl + TimeSpan.FromSeconds(1));

        var forAnn = (await _m.ReceiptsAsync("ann", _group)).Cursors.ToDictionary(c => c.UserId);
        var forDora = (await _m.ReceiptsAsync("dora", _group)).Cursors.ToDictionary(c => c.UserId);

        Assert.Equal(3ul, forAnn["carl"].ReadSeq);
        Assert.Equal((4ul, 0ul), (forAnn["dora"].DeliveredSeq, forAnn["dora"].ReadSeq));
        Assert.Equal(4ul, forDora["dora"].ReadSeq);
        Assert.Equal(0ul, forDora["carl"].ReadSeq);
        Assert.Equal(5ul, forDora["ann"].DeliveredSeq);
    }

    [Fact]
    public async Task A_move_made_meanwhile_by_another_device_is_kept_not_overwritten()
    {
        var key = MessageKeys.Cursor(_group, "carl");
        await _m.ReceiptAsync("carl", _group, ReceiptKind.Delivered, 1);
        var raced = false;
        _m.Dapr.FailWrite = (_, written) =>
        {
            if (written == key && !raced)
            {
                // Another device of carl's saves between this call's read and its write.
                raced = true;
                _m.Dapr.SaveStateAsync(DaprNames.StateStores.Messages, key, new StoredCursor(5, 2, _m.Time.GetUtcNow())).GetAwaiter().GetResult();
            }

            return null;
        };

        var result = await _m.Store.AdvanceCursorAsync(_group, "carl", 3, 3, CancellationToken.None);

        Assert.True(raced);
        Assert.Equal((5ul, 3ul), (result.Cursor.DeliveredSeq, result.Cursor.ReadSeq));
        var stored = await _m.Dapr.GetStateAsync<StoredCursor>(DaprNames.StateStores.Messages, key);
        Assert.Equal((5ul, 3ul), (stored.DeliveredSeq, stored.ReadSeq));
    }
}
