using Chat.Contracts.V1;
using Chat.Domain;
using Chat.Messaging;
using Chat.ServiceDefaults.Auth;
using Chat.Unit.Tests.Fakes;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Chat.Unit.Tests.Messaging;

/// <summary>Messaging's membership checks and its cached view of read-receipt privacy.</summary>
[Trait("Category", "Unit")]
[Trait("Area", "House")]
public sealed class MembershipAndPrivacyTests : IDisposable
{
    private readonly FakeDirectory _directory = new();
    private readonly Membership _membership;
    private readonly FakeTimeProvider _time = new();

    public MembershipAndPrivacyTests()
    {
        _membership = new Membership(_directory.Client);
    }

    public void Dispose() => _membership.Dispose();

    [Fact]
    public async Task A_member_gets_the_members_and_kind()
    {
        var group = _directory.Group("g1", "ann", "carl");

        var (kind, members) = await _membership.RequireMemberAsync(group, "carl", CancellationToken.None);

        Assert.Equal(ConversationKind.Group, kind);
        Assert.Equal(["ann", "carl"], members);
    }

    [Fact]
    public async Task Not_a_member_and_no_such_conversation_get_the_same_answer()
    {
        var group = _directory.Group("g1", "ann", "carl");

        var outsider = await Assert.ThrowsAsync<RpcException>(() => _membership.RequireMemberAsync(group, "eve", CancellationToken.None));
        var missing = await Assert.ThrowsAsync<RpcException>(() => _membership.RequireMemberAsync(ConversationId.Group("nope").Value, "eve", CancellationToken.None));

        Assert.Equal((StatusCode.PermissionDenied, ErrorCodes.NotMember), (outsider.StatusCode, outsider.ErrorCode()));
        Assert.Equal((outsider.StatusCode, outsider.ErrorCode()), (missing.StatusCode, missing.ErrorCode()));
    }

    [Fact]
    public async Task A_malformed_conversation_id_is_refused_before_asking_directory()
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => _membership.RequireMemberAsync("dm:ann", "ann", CancellationToken.None));

        Assert.Equal((StatusCode.InvalidArgument, ErrorCodes.InvalidConversationId), (error.StatusCode, error.ErrorCode()));
        Assert.Equal(0, _directory.Calls("GetMembers"));
    }

    [Fact]
    public async Task Direct_conversations_are_asked_once_but_groups_every_time()
    {
        var dm = _directory.Direct("ann", "carl");
        var group = _directory.Group("g1", "ann", "carl");

        for (var i = 0; i < 3; i++)
        {
            await _membership.RequireMemberAsync(dm, "ann", CancellationToken.None);
            await _membership.RequireMemberAsync(group, "ann", CancellationToken.None);
        }

        Assert.Equal(1 + 3, _directory.Calls("GetMembers"));
    }

    [Fact]
    public async Task A_member_removed_from_a_group_is_refused_at_once()
    {
        var group = _directory.Group("g1", "ann", "carl");
        await _membership.RequireMemberAsync(group, "carl", CancellationToken.None);

        _directory.Remove(group, "carl");

        await Assert.ThrowsAsync<RpcException>(() => _membership.RequireMemberAsync(group, "carl", CancellationToken.None));
    }

    [Fact]
    public async Task Receipt_privacy_is_asked_in_bulk_and_trusted_for_its_ttl()
    {
        var privacy = new ReceiptPrivacy(_directory.Client, _time, Options.Create(new ReceiptPrivacyOptions { CacheTtl = TimeSpan.FromSeconds(10) }));
        _directory.HideReadReceipts("carl");

        Assert.Equal(["carl"], await privacy.HiddenAsync(["ann", "carl", "dora"], CancellationToken.None));
        _directory.HideReadReceipts("dora");
        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.Equal(["carl"], await privacy.HiddenAsync(["ann", "carl", "dora"], CancellationToken.None));
        Assert.Equal(1, _directory.Calls("GetReceiptPrivacy"));

        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(["carl", "dora"], (await privacy.HiddenAsync(["ann", "carl", "dora"], CancellationToken.None)).Order());
        Assert.Equal(2, _directory.Calls("GetReceiptPrivacy"));
    }

    [Fact]
    public async Task Only_users_not_cached_are_asked()
    {
        var privacy = new ReceiptPrivacy(_directory.Client, _time, Options.Create(new ReceiptPrivacyOptions()));
        await privacy.HiddenAsync(["ann"], CancellationToken.None);
        _directory.HideReadReceipts("ann");
        _directory.HideReadReceipts("carl");

        var hidden = await privacy.HiddenAsync(["ann", "carl"], CancellationToken.None);

        Assert.Equal(["carl"], hidden); // ann's answer is still the cached one
        Assert.Equal(2, _directory.Calls("GetReceiptPrivacy"));
    }

    [Fact]
    public void Visible_clears_read_cursors_of_those_who_hide_and_all_others_for_a_viewer_who_hides()
    {
        ReceiptCursor[] Cursors() =>
        [
            new() { UserId = "ann", DeliveredSeq = 5, ReadSeq = 5 },
            new() { UserId = "carl", DeliveredSeq = 4, ReadSeq = 3 },
            new() { UserId = "dora", DeliveredSeq = 2, ReadSeq = 2 },
        ];

        var carlHides = ReceiptPrivacy.Visible(Cursors(), "ann", new HashSet<string> { "carl" }).ToList();
        var viewerHides = ReceiptPrivacy.Visible(Cursors(), "ann", new HashSet<string> { "ann" }).ToList();
        var nobodyHides = ReceiptPrivacy.Visible(Cursors(), "ann", new HashSet<string>()).ToList();

        Assert.Equal([5ul, 0ul, 2ul], carlHides.Select(c => c.ReadSeq));
        Assert.Equal([5ul, 0ul, 0ul], viewerHides.Select(c => c.ReadSeq));
        Assert.Equal([5ul, 3ul, 2ul], nobodyHides.Select(c => c.ReadSeq));
        Assert.Equal([5ul, 4ul, 2ul], viewerHides.Select(c => c.DeliveredSeq));
    }

    [Fact]
    public void The_read_audience_is_the_reader_alone_when_they_hide_else_those_who_do_not_hide()
    {
        string[] members = ["ann", "carl", "dora"];

        Assert.Equal(["carl"], ReceiptPrivacy.ReadAudience(members, "carl", new HashSet<string> { "carl", "dora" }));
        Assert.Equal(["ann", "carl"], ReceiptPrivacy.ReadAudience(members, "carl", new HashSet<string> { "dora" }));
        Assert.Equal(members, ReceiptPrivacy.ReadAudience(members, "carl", new HashSet<string>()));
    }
}
