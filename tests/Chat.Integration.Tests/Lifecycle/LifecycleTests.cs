using Chat.Contracts.V1;
using Chat.Domain;
using Chat.Gateway.Hubs;
using Chat.Integration.Tests.ClientApi;
using Chat.Integration.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;
using static Chat.Integration.Tests.ClientApi.ClientApiSystem;

namespace Chat.Integration.Tests.Lifecycle;

/// <summary>
/// Issue 17: reply, edit, delete and reactions through real SignalR clients (and the gRPC API
/// behind them), live, through Sync and in history; each rule refused with its code.
/// </summary>
[Trait("Area", "Lifecycle")]
public sealed class LifecycleTests(ClientApiSystem fx) : IClassFixture<ClientApiSystem>
{
    private static string Id() => Guid.NewGuid().ToString("N");

    private static Task<MessageAcceptedDto> SendAsync(HubClient from, string? conversationId, string text, ulong replyTo = 0, string? peer = null) =>
        from.Connection.InvokeAsync<MessageAcceptedDto>("SendMessage", new SendMessageArgs(conversationId, peer, Id(), text, ReplyToSeq: replyTo));

    private static Task<LifecycleAcceptedDto> EditAsync(HubClient who, string cid, ulong seq, string text, string? clientMsgId = null) =>
        who.Connection.InvokeAsync<LifecycleAcceptedDto>("EditMessage", new EditMessageArgs(cid, seq, clientMsgId ?? Id(), text));

    private static Task<LifecycleAcceptedDto> DeleteAsync(HubClient who, string cid, ulong seq, string? clientMsgId = null) =>
        who.Connection.InvokeAsync<LifecycleAcceptedDto>("DeleteMessage", new DeleteMessageArgs(cid, seq, clientMsgId ?? Id()));

    private static Task<LifecycleAcceptedDto> ReactAsync(HubClient who, string cid, ulong seq, string emoji, string? clientMsgId = null) =>
        who.Connection.InvokeAsync<LifecycleAcceptedDto>("React", new ReactArgs(cid, seq, clientMsgId ?? Id(), emoji));

    private static async Task<MessageDto> MessageAsync(HubClient viewer, string cid, ulong seq)
    {
        var page = await viewer.Connection.InvokeAsync<HistoryDto>("GetHistory", new GetHistoryArgs(cid, BeforeSeq: seq + 1, Limit: 1));
        return Assert.Single(page.Messages);
    }

    // Rows of the run's messages store (SQLite) whose stored value contains the text.
    private long StoredRowsContaining(string text) => StoredRows.Count(fx.System, "value", "%" + text + "%");

    [Fact]
    public async Task Direct_reply_edit_react_and_delete_reach_the_peer_live_and_history_shows_the_final_state()
    {
        var alice = await fx.UserAsync();
        var bob = await fx.UserAsync();
        var secret = "typo in here " + Id();
        var first = (await SendAsync(alice, null, secret, peer: bob.User.UserId)).Message;
        var cid = first.ConversationId;
        await bob.WaitForAsync<MessageDto>(m => m.MsgId == first.MsgId);

        // Reply: the quote travels as replyToSeq.
        var reply = (await SendAsync(bob, cid, "what typo?", replyTo: first.Seq)).Message;
        Assert.Equal(first.Seq, (await alice.WaitForAsync<MessageDto>(m => m.MsgId == reply.MsgId)).ReplyToSeq);

        // Edit: a new log entry, seen live by the peer.
        var edit = await EditAsync(alice, cid, first.Seq, "fixed text");
        Assert.Equal(("edit", first.Seq, reply.Seq + 1), (edit.Entry.Kind, edit.Entry.TargetSeq, edit.Entry.Seq));
        var liveEdit = await bob.WaitForAsync<MessageDto>(m => m.Kind == "edit" && m.TargetSeq == first.Seq);
        Assert.Equal("fixed text", liveEdit.Text);

        // Reactions: one per user; a new one replaces the old.
        await ReactAsync(bob, cid, first.Seq, "👍");
        await ReactAsync(alice, cid, first.Seq, "❤️");
        var replaced = await ReactAsync(bob, cid, first.Seq, "🎉");
        var liveReaction = await alice.WaitForAsync<MessageDto>(m => m.Kind == "reaction" && m.Seq == replaced.Entry.Seq);
        Assert.Equal(("🎉", bob.User.UserId), (liveReaction.Text, liveReaction.SenderId));

        // Bob takes back his reply; alice sees the delete live.
        Assert.True(StoredRowsContaining("what typo?") > 0);
        var delete = await DeleteAsync(bob, cid, reply.Seq);
        await alice.WaitForAsync<MessageDto>(m => m.Kind == "delete" && m.TargetSeq == reply.Seq && m.Seq == delete.Entry.Seq);

        // History: current state, reactions counted with "mine" per viewer.
        var edited = await MessageAsync(alice, cid, first.Seq);
        Assert.Equal("fixed text", edited.Text);
        Assert.NotNull(edited.EditedAt);
        Assert.Equal([new ReactionDto("❤️", 1, true), new ReactionDto("🎉", 1, false)], edited.Reactions!.OrderBy(r => r.Emoji, StringComparer.Ordinal));
        Assert.Equal([new ReactionDto("❤️", 1, false), new ReactionDto("🎉", 1, true)], (await MessageAsync(bob, cid, first.Seq)).Reactions!.OrderBy(r => r.Emoji, StringComparer.Ordinal));
        var tombstone = await MessageAsync(alice, cid, reply.Seq);
        Assert.Equal((true, "", (AttachmentDto?)null, first.Seq), (tombstone.Deleted, tombstone.Text, tombstone.Attachment, tombstone.ReplyToSeq));
        // Removed from storage, not only hidden.
        Assert.Equal(0, StoredRowsContaining("what typo?"));

        // An empty reaction removes mine.
        await ReactAsync(alice, cid, first.Seq, "");
        Assert.Equal([new ReactionDto("🎉", 1, false)], (await MessageAsync(alice, cid, first.Seq)).Reactions);
    }

    [Fact]
    public async Task Group_members_get_lifecycle_entries_live_and_through_Sync_and_an_admin_deletes_anyones_message()
    {
        var owner = await fx.UserAsync();
        var member = await fx.UserAsync();
        var other = await fx.UserAsync();
        var group = await owner.Connection.InvokeAsync<GroupDto>("CreateGroup", "lifecycle", new[] { member.User.UserId, other.User.UserId });
        var cid = group.ConversationId;
        var hello = (await SendAsync(member, cid, "hello group")).Message;
        var spam = (await SendAsync(other, cid, "buy now " + Id())).Message;
        var otherSync = await other.Connection.InvokeAsync<SyncResultDto>("Sync", new SyncArgs([new SyncCursorDto(cid, 0, spam.Seq)]));
        var epoch = otherSync.Deltas.FirstOrDefault(d => d.ConversationId == cid)?.Epoch ?? 0;
        await other.Connection.StopAsync(); // offline while the log changes

        await Refused(ErrorCodes.NotSender, () => DeleteAsync(member, cid, spam.Seq));
        await Refused(ErrorCodes.NotSender, () => EditAsync(owner, cid, hello.Seq, "owner rewrites"));
        var removed = await DeleteAsync(owner, cid, spam.Seq);
        var edit = await EditAsync(member, cid, hello.Seq, "hello, group");
        var reaction = await ReactAsync(owner, cid, hello.Seq, "👋");
        // Live to the members who did not make them (the calling connection has its entry from the call).
        foreach (var (entry, to) in new[] { (removed.Entry, member), (edit.Entry, owner), (reaction.Entry, member) })
        {
            await to.WaitForAsync<MessageDto>(m => m.Seq == entry.Seq && m.Kind == entry.Kind && m.ConversationId == cid);
        }

        // "other" comes back and catches up through Sync from the cursor it had: the entries, in seq order, then the final state.
        await other.Connection.StartAsync();
        Assert.DoesNotContain(other.Received.OfType<MessageDto>(), m => m.Seq > spam.Seq);
        var sync = await other.Connection.InvokeAsync<SyncResultDto>("Sync", new SyncArgs([new SyncCursorDto(cid, epoch, spam.Seq)]));
        var delta = Assert.Single(sync.Deltas, d => d.ConversationId == cid);
        Assert.Equal(
            [("delete", spam.Seq, ""), ("edit", hello.Seq, "hello, group"), ("reaction", hello.Seq, "👋")],
            delta.Messages.Select(m => (m.Kind, m.TargetSeq, m.Text)));
        Assert.Equal(delta.Messages.Select(m => m.Seq), Enumerable.Range((int)spam.Seq + 1, 3).Select(s => (ulong)s));
        var full = await other.Connection.InvokeAsync<SyncResultDto>("Sync", new SyncArgs([]));
        var state = Assert.Single(full.Deltas, d => d.ConversationId == cid).Messages;
        Assert.True(state.Single(m => m.Seq == spam.Seq).Deleted);
        var greeting = state.Single(m => m.Seq == hello.Seq);
        Assert.Equal(("hello, group", false), (greeting.Text, greeting.Deleted));
        Assert.Equal([new ReactionDto("👋", 1, false)], greeting.Reactions);
    }

    [Fact]
    public async Task Each_rule_is_refused_with_its_code_and_nothing_is_appended()
    {
        var alice = await fx.UserAsync();
        var bob = await fx.UserAsync();
        var outsider = await fx.UserAsync();
        var mine = (await SendAsync(alice, null, "mine", peer: bob.User.UserId)).Message;
        var cid = mine.ConversationId;
        var edit = await EditAsync(alice, cid, mine.Seq, "mine, edited");
        var gone = (await SendAsync(alice, cid, "to be deleted")).Message;
        await DeleteAsync(alice, cid, gone.Seq);
        var lastSeq = (await alice.Connection.InvokeAsync<HistoryDto>("GetHistory", new GetHistoryArgs(cid, Limit: 1))).LastSeq;

        await Refused(ErrorCodes.NotSender, () => EditAsync(bob, cid, mine.Seq, "bob's words"));
        await Refused(ErrorCodes.NotSender, () => DeleteAsync(bob, cid, mine.Seq));
        await Refused(ErrorCodes.NotMember, () => EditAsync(outsider, cid, mine.Seq, "x"));
        await Refused(ErrorCodes.NotMember, () => ReactAsync(outsider, cid, mine.Seq, "👍"));
        await Refused(ErrorCodes.InvalidTarget, () => ReactAsync(bob, cid, lastSeq + 5, "👍"));
        await Refused(ErrorCodes.InvalidTarget, () => ReactAsync(bob, cid, 0, "👍"));
        await Refused(ErrorCodes.InvalidTarget, () => ReactAsync(bob, cid, edit.Entry.Seq, "👍"));
        await Refused(ErrorCodes.MessageDeleted, () => EditAsync(alice, cid, gone.Seq, "back"));
        await Refused(ErrorCodes.MessageDeleted, () => ReactAsync(bob, cid, gone.Seq, "👍"));
        await Refused(ErrorCodes.MessageDeleted, () => DeleteAsync(alice, cid, gone.Seq));
        await Refused(ErrorCodes.InvalidEmoji, () => ReactAsync(bob, cid, mine.Seq, "two words"));
        await Refused(ErrorCodes.InvalidEmoji, () => ReactAsync(bob, cid, mine.Seq, new string('x', 40)));
        await Refused(ErrorCodes.ContentEmpty, () => EditAsync(alice, cid, mine.Seq, "  "));
        await Refused(ErrorCodes.InvalidClientMsgId, () => EditAsync(alice, cid, mine.Seq, "ok", clientMsgId: "short"));
        await Refused(ErrorCodes.InvalidConversationId, () => ReactAsync(bob, "nope", mine.Seq, "👍"));
        await Refused(ErrorCodes.InvalidArgument, () => alice.Connection.InvokeCoreAsync<LifecycleAcceptedDto>("EditMessage", [null]));
        // reply_to_seq must be a message of this conversation, not deleted.
        await Refused(ErrorCodes.InvalidReplyTo, () => SendAsync(bob, cid, "re: nothing", replyTo: lastSeq + 5));
        await Refused(ErrorCodes.InvalidReplyTo, () => SendAsync(bob, cid, "re: deleted", replyTo: gone.Seq));
        await Refused(ErrorCodes.InvalidReplyTo, () => SendAsync(bob, cid, "re: an edit", replyTo: edit.Entry.Seq));

        Assert.Equal(lastSeq, (await alice.Connection.InvokeAsync<HistoryDto>("GetHistory", new GetHistoryArgs(cid, Limit: 1))).LastSeq);
        Assert.Equal("mine, edited", (await MessageAsync(bob, cid, mine.Seq)).Text);
    }

    [Fact]
    public async Task A_resent_edit_delete_or_reaction_with_the_same_client_msg_id_is_applied_once()
    {
        var alice = await fx.System.RegisterAsync();
        var bob = await fx.System.RegisterAsync();
        var sent = (await alice.SendToPeerAsync(bob, "once")).Message;
        var cid = sent.ConversationId;
        var other = (await alice.SendAsync(cid, "other")).Message;

        // Through the gRPC API the hub uses.
        var editId = Id();
        var reactId = Id();
        var deleteId = Id();
        var edit = await alice.Messaging.EditMessageAsync(new EditMessageRequest { ConversationId = cid, TargetSeq = sent.Seq, ClientMsgId = editId, Text = "once more" });
        var react = await bob.Messaging.ReactAsync(new ReactRequest { ConversationId = cid, TargetSeq = sent.Seq, ClientMsgId = reactId, Emoji = "👍" });
        var delete = await alice.Messaging.DeleteMessageAsync(new DeleteMessageRequest { ConversationId = cid, TargetSeq = other.Seq, ClientMsgId = deleteId });
        Assert.False(edit.Duplicate || react.Duplicate || delete.Duplicate);
        var lastSeq = delete.Entry.Seq;

        var edit2 = await alice.Messaging.EditMessageAsync(new EditMessageRequest { ConversationId = cid, TargetSeq = sent.Seq, ClientMsgId = editId, Text = "once more" });
        var react2 = await bob.Messaging.ReactAsync(new ReactRequest { ConversationId = cid, TargetSeq = sent.Seq, ClientMsgId = reactId, Emoji = "👍" });
        var delete2 = await alice.Messaging.DeleteMessageAsync(new DeleteMessageRequest { ConversationId = cid, TargetSeq = other.Seq, ClientMsgId = deleteId });
        Assert.True(edit2.Duplicate && react2.Duplicate && delete2.Duplicate);
        Assert.Equal((edit.Entry.Seq, react.Entry.Seq, delete.Entry.Seq), (edit2.Entry.Seq, react2.Entry.Seq, delete2.Entry.Seq));
        Assert.Equal((MessageKind.Edit, MessageKind.Reaction, MessageKind.Delete), (edit2.Entry.Kind, react2.Entry.Kind, delete2.Entry.Kind));

        var history = await bob.Messaging.GetHistoryAsync(new GetHistoryRequest { ConversationId = cid });
        Assert.Equal(lastSeq, history.LastSeq);
        var message = history.Messages.Single(m => m.Seq == sent.Seq);
        Assert.Equal("once more", message.Content.Text);
        Assert.Equal(new ReactionCount { Emoji = "👍", Count = 1, Mine = true }, Assert.Single(message.Reactions));
    }

    [Fact]
    public async Task Unread_counts_messages_only_not_edits_deletes_or_reactions()
    {
        var alice = await fx.System.RegisterAsync();
        var bob = await fx.System.RegisterAsync();
        var first = (await alice.SendToPeerAsync(bob, "one")).Message;
        var cid = first.ConversationId;
        var second = (await alice.SendAsync(cid, "two")).Message;
        async Task<ulong> UnreadAsync(TestUser who) =>
            (await who.Messaging.ListConversationsAsync(new ListConversationsRequest())).Conversations.Single(c => c.ConversationId == cid).UnreadCount;
        Task ReadAsync(ulong seq) => bob.Messaging.UpdateReceiptAsync(new UpdateReceiptRequest { ConversationId = cid, Kind = ReceiptKind.Read, UpToSeq = seq }).ResponseAsync;

        Assert.Equal(2ul, await UnreadAsync(bob));
        var edit = await alice.Messaging.EditMessageAsync(new EditMessageRequest { ConversationId = cid, TargetSeq = first.Seq, ClientMsgId = Id(), Text = "one!" });
        await alice.Messaging.ReactAsync(new ReactRequest { ConversationId = cid, TargetSeq = second.Seq, ClientMsgId = Id(), Emoji = "👍" });
        Assert.Equal(2ul, await UnreadAsync(bob));

        // Read up to the second message: the edit and reaction after it are not unread.
        await ReadAsync(second.Seq);
        Assert.Equal(0ul, await UnreadAsync(bob));

        // A new message counts, a delete does not; reading up to a lifecycle entry counts from there.
        var third = (await alice.SendAsync(cid, "three")).Message;
        var delete = await alice.Messaging.DeleteMessageAsync(new DeleteMessageRequest { ConversationId = cid, TargetSeq = first.Seq, ClientMsgId = Id() });
        Assert.Equal(1ul, await UnreadAsync(bob));
        await ReadAsync(edit.Entry.Seq);
        Assert.Equal(1ul, await UnreadAsync(bob));
        await ReadAsync(third.Seq);
        Assert.Equal(0ul, await UnreadAsync(bob));
        Assert.True(delete.Entry.Seq > third.Seq);
        Assert.Equal(0ul, await UnreadAsync(alice));
    }
}

/// <summary>The time limits set to zero: every edit or delete by a sender is late (an admin still deletes), every upload URL expired.</summary>
public sealed class ClosedWindowsSystem : IAsyncLifetime
{
    public ChatSystem System { get; private set; } = null!;

    public async Task InitializeAsync() => System = await ChatHarness.InProcessAsync(new()
    {
        Settings = new Dictionary<string, string?>
        {
            ["Messaging:Lifecycle:EditWindow"] = "00:00:00",
            ["Messaging:Lifecycle:DeleteWindow"] = "00:00:00",
            ["Messaging:Media:UploadUrlLifetime"] = "00:00:00",
        },
        Apps = [DaprNames.Apps.Directory, DaprNames.Apps.Router, DaprNames.Apps.Messaging, DaprNames.Apps.Gateway],
    });

    public async Task DisposeAsync() => await System.DisposeAsync();
}

[Trait("Area", "Lifecycle")]
public sealed class LifecycleWindowTests(ClosedWindowsSystem fx) : IClassFixture<ClosedWindowsSystem>
{
    [Fact]
    public async Task Edit_and_delete_after_the_window_are_refused_but_a_group_admin_still_deletes()
    {
        var owner = await fx.System.RegisterAsync();
        var member = await fx.System.RegisterAsync();
        var cid = await owner.CreateGroupAsync("windows", member);
        var sent = (await member.SendAsync(cid, "too late to change")).Message;

        var edit = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => member.Messaging.EditMessageAsync(
            new EditMessageRequest { ConversationId = cid, TargetSeq = sent.Seq, ClientMsgId = Guid.NewGuid().ToString("N"), Text = "changed" }).ResponseAsync);
        Assert.Equal((Grpc.Core.StatusCode.FailedPrecondition, ErrorCodes.EditWindowPassed), (edit.StatusCode, edit.Trailers.GetValue("chat-error-code")));
        var delete = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => member.Messaging.DeleteMessageAsync(
            new DeleteMessageRequest { ConversationId = cid, TargetSeq = sent.Seq, ClientMsgId = Guid.NewGuid().ToString("N") }).ResponseAsync);
        Assert.Equal((Grpc.Core.StatusCode.FailedPrecondition, ErrorCodes.DeleteWindowPassed), (delete.StatusCode, delete.Trailers.GetValue("chat-error-code")));

        var byAdmin = await owner.Messaging.DeleteMessageAsync(new DeleteMessageRequest { ConversationId = cid, TargetSeq = sent.Seq, ClientMsgId = Guid.NewGuid().ToString("N") });
        Assert.Equal(MessageKind.Delete, byAdmin.Entry.Kind);
        var history = await member.Messaging.GetHistoryAsync(new GetHistoryRequest { ConversationId = cid });
        Assert.True(history.Messages.Single(m => m.Seq == sent.Seq).Deleted);
    }

    [Fact]
    public async Task An_expired_upload_url_is_refused_and_nothing_is_stored()
    {
        var user = await fx.System.RegisterAsync();
        var upload = await user.Messaging.CreateUploadAsync(new CreateUploadRequest { ContentType = "image/png", SizeBytes = 4, FileName = "late.png" });
        using var http = new HttpClient { BaseAddress = new Uri(fx.System.GatewayUrl) };
        var put = await http.PutAsync(upload.UploadUrl, new ByteArrayContent(new byte[4]) { Headers = { ContentType = new("image/png") } });
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, put.StatusCode);
        Assert.Contains(ErrorCodes.InvalidMediaToken, await put.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(fx.System.DataPath, "media", upload.MediaId)));
    }
}
