using Chat.Contracts.V1;
using Chat.Core;
using Chat.Domain;
using Chat.ServiceDefaults.Auth;
using Chat.Unit.Tests.Fakes;
using Grpc.Core;

namespace Chat.Unit.Tests.Messaging;

/// <summary>History paging, the input checks messaging makes before a lifecycle change reaches the actor, and the actor's reply check.</summary>
[Trait("Category", "Unit")]
[Trait("Area", "House")]
public sealed class HistoryAndLifecycleInputTests : IAsyncLifetime
{
    private MessagingHarness _m = null!;
    private string _dm = "";

    public async Task InitializeAsync()
    {
        _m = await MessagingHarness.StartAsync();
        _dm = _m.Directory.Direct("ann", "carl");
        await _m.SendAsync(_dm, "carl", 7);
    }

    public async Task DisposeAsync() => await _m.DisposeAsync();

    private Task<GetHistoryResponse> HistoryAsync(string user, ulong before = 0, ulong after = 0, uint limit = 0) =>
        _m.Calls.AsUser(user, "/chat.v1.MessagingService/GetHistory",
            new GetHistoryRequest { ConversationId = _dm, BeforeSeq = before, AfterSeq = after, Limit = limit }, _m.Service.GetHistory);

    [Fact]
    public async Task History_pages_backwards_newest_first_and_says_when_there_is_more()
    {
        var latest = await HistoryAsync("ann", limit: 3);
        var older = await HistoryAsync("ann", before: 5, limit: 3);
        var oldest = await HistoryAsync("ann", before: 2, limit: 3);

        Assert.Equal([7ul, 6ul, 5ul], latest.Messages.Select(m => m.Seq));
        Assert.True(latest.HasMore);
        Assert.Equal([4ul, 3ul, 2ul], older.Messages.Select(m => m.Seq));
        Assert.Equal([1ul], oldest.Messages.Select(m => m.Seq));
        Assert.False(oldest.HasMore);
        Assert.Equal(7ul, latest.LastSeq);
    }

    [Fact]
    public async Task History_pages_forwards_after_a_seq()
    {
        var page = await HistoryAsync("ann", after: 4, limit: 2);
        var rest = await HistoryAsync("ann", after: 6, limit: 2);

        Assert.Equal([5ul, 6ul], page.Messages.Select(m => m.Seq));
        Assert.True(page.HasMore);
        Assert.Equal([7ul], rest.Messages.Select(m => m.Seq));
        Assert.False(rest.HasMore);
    }

    [Fact]
    public async Task History_is_for_members_and_takes_one_direction_at_a_time()
    {
        var both = await Assert.ThrowsAsync<RpcException>(() => HistoryAsync("ann", before: 5, after: 2));
        var outsider = await Assert.ThrowsAsync<RpcException>(() => HistoryAsync("dora"));

        Assert.Equal(StatusCode.InvalidArgument, both.StatusCode);
        Assert.Equal((StatusCode.PermissionDenied, ErrorCodes.NotMember), (outsider.StatusCode, outsider.ErrorCode()));
    }

    [Theory]
    [InlineData(MessageKind.Reaction, 1ul, "two words", ErrorCodes.InvalidEmoji)]
    [InlineData(MessageKind.Edit, 1ul, " ", ErrorCodes.ContentEmpty)]
    [InlineData(MessageKind.Delete, 0ul, "", ErrorCodes.InvalidTarget)]
    public async Task Bad_lifecycle_input_is_refused_before_the_actor_is_asked(MessageKind kind, ulong target, string text, string code)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            _m.Lifecycle.ApplyAsync(new ChatUser("carl", "d1", "carl"), _dm, target, "client-9999", kind, text, "", CancellationToken.None));

        Assert.Equal((StatusCode.InvalidArgument, code), (error.StatusCode, error.ErrorCode()));
    }

    [Fact]
    public async Task A_reply_must_quote_a_message_that_is_not_an_entry_nor_deleted()
    {
        var actor = await _m.ActorAsync(_dm);
        await actor.ApplyLifecycleAsync(new LifecycleRequest("carl", "d1", "client-edit-1", (int)MessageKind.Edit, 1, "edited", TimeSpan.FromHours(1), false, ["ann", "carl"]));
        await actor.ApplyLifecycleAsync(new LifecycleRequest("carl", "d1", "client-del-02", (int)MessageKind.Delete, 2, "", TimeSpan.FromHours(1), false, ["ann", "carl"]));

        AppendMessageRequest Reply(ulong seq) => new("ann", "d1", $"client-reply-{seq:D2}", "a reply", null, seq, false);

        var toEdited = await actor.AppendAsync(Reply(1)); // edited, still a message
        var refused = new[] { await actor.AppendAsync(Reply(8)), await actor.AppendAsync(Reply(2)), await actor.AppendAsync(Reply(99)) }; // an entry, deleted, missing

        Assert.Null(toEdited.Refused);
        Assert.Equal(1ul, toEdited.Message.ReplyToSeq);
        Assert.All(refused, r => Assert.Equal((ErrorCodes.InvalidReplyTo, ValidationKind.InvalidArgument), (r.Refused?.Code, r.Refused!.Kind)));
    }
}
