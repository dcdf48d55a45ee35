using Chat.Contracts.V1;
using Chat.Integration.Tests.Infrastructure;
using Grpc.Core;

namespace Chat.Integration.Tests;

/// <summary>
/// Issue 5: directory, messaging and router with the dev sidecar, called through Dapr gRPC
/// proxying as the gateway calls them, on the embedded and the redis component sets.
/// </summary>
[Trait("Area", "Conversations")]
[Collection(RedisCollection.Name)]
public sealed class ConversationTests(RedisServerFixture redis)
{
    public static TheoryData<ComponentSet> Sets => new() { ComponentSet.Embedded, ComponentSet.Redis };

    private Task<ChatSystem> StartAsync(ComponentSet set) => ChatHarness.InProcessAsync(new() { Components = set, Redis = set == ComponentSet.Redis ? redis.Endpoint : null });

    [Theory]
    [MemberData(nameof(Sets))]
    public async Task Direct_and_group_sends_are_stored_in_order(ComponentSet set)
    {
        await using var system = await StartAsync(set);
        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        var carol = await system.RegisterAsync();

        var first = await alice.SendToPeerAsync(bob, "hi bob");
        Assert.StartsWith("dm:", first.Message.ConversationId, StringComparison.Ordinal);
        Assert.Equal(1ul, first.Message.Seq);
        Assert.False(first.Duplicate);
        var reply = await bob.SendAsync(first.Message.ConversationId, "hi alice");
        Assert.Equal(2ul, reply.Message.Seq);
        Assert.True(reply.Message.MsgId > first.Message.MsgId, "Snowflake ids grow with time");

        var group = await alice.CreateGroupAsync("team", bob, carol);
        var g1 = await carol.SendAsync(group, "hello team");
        Assert.Equal(1ul, g1.Message.Seq);
        Assert.Equal(carol.UserId, g1.Message.SenderId);

        var history = await bob.Messaging.GetHistoryAsync(new GetHistoryRequest { ConversationId = group });
        Assert.Equal("hello team", Assert.Single(history.Messages).Content.Text);
    }

    /// <summary>
    /// An edit or delete rewrites its target message. Message keys are saved first-write, and on
    /// state.redis a key saved that way refuses a later save without its ETag: the rewrite carries it.
    /// </summary>
    [Theory]
    [MemberData(nameof(Sets))]
    public async Task An_edit_and_a_delete_rewrite_their_target_in_history(ComponentSet set)
    {
        await using var system = await StartAsync(set);
        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        var first = (await alice.SendToPeerAsync(bob, "teh typo")).Message;
        var second = (await alice.SendAsync(first.ConversationId, "take this back")).Message;

        var edit = await alice.Messaging.EditMessageAsync(new EditMessageRequest
        {
            ConversationId = first.ConversationId, TargetSeq = first.Seq, ClientMsgId = Guid.NewGuid().ToString("N"), Text = "the typo",
        });
        var delete = await alice.Messaging.DeleteMessageAsync(new DeleteMessageRequest
        {
            ConversationId = first.ConversationId, TargetSeq = second.Seq, ClientMsgId = Guid.NewGuid().ToString("N"),
        });
        Assert.Equal((3ul, 4ul), (edit.Entry.Seq, delete.Entry.Seq));

        var history = (await bob.Messaging.GetHistoryAsync(new GetHistoryRequest { ConversationId = first.ConversationId, Limit = 10 })).Messages
            .ToDictionary(m => m.Seq);
        Assert.Equal(("the typo", true), (history[first.Seq].Content.Text, history[first.Seq].EditedAt is not null));
        Assert.Equal((true, ""), (history[second.Seq].Deleted, history[second.Seq].Content?.Text ?? ""));
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public async Task Twenty_concurrent_senders_get_gap_free_seqs(ComponentSet set)
    {
        await using var system = await StartAsync(set);
        var owner = await system.RegisterAsync();
        var members = new List<TestUser>();
        for (var i = 0; i < 19; i++)
        {
            members.Add(await system.RegisterAsync());
        }

        var group = await owner.CreateGroupAsync("busy", [.. members]);
        var senders = members.Append(owner).ToList();
        const int perSender = 5;
        var results = await Task.WhenAll(senders.SelectMany(s => Enumerable.Range(0, perSender).Select(i => s.SendAsync(group, $"{s.UserName}-{i}"))));

        var seqs = results.Select(r => r.Message.Seq).Order().ToList();
        Assert.Equal(Enumerable.Range(1, senders.Count * perSender).Select(i => (ulong)i), seqs);
        Assert.Equal(results.Length, results.Select(r => r.Message.MsgId).Distinct().Count());

        var stored = await owner.Messaging.GetHistoryAsync(new GetHistoryRequest { ConversationId = group, AfterSeq = 0, Limit = 200 });
        Assert.Equal((ulong)results.Length, stored.LastSeq);
    }

    [Theory]
    [MemberData(nameof(Sets))]
    public async Task One_client_msg_id_sent_ten_times_concurrently_stores_one_message(ComponentSet set)
    {
        await using var system = await StartAsync(set);
        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        var conversation = (await alice.SendToPeerAsync(bob, "first")).Message.ConversationId;

        var id = Guid.NewGuid().ToString();
        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => alice.SendAsync(conversation, "once", id)));

        Assert.Single(results.Select(r => r.Message.MsgId).Distinct());
        Assert.Single(results.Select(r => r.Message.Seq).Distinct());
        Assert.Equal(9, results.Count(r => r.Duplicate));
        var history = await bob.Messaging.GetHistoryAsync(new GetHistoryRequest { ConversationId = conversation });
        Assert.Equal(2, history.Messages.Count);
        Assert.Equal(2ul, history.LastSeq);
    }

    [Fact]
    public async Task History_pages_backwards_and_forwards()
    {
        await using var system = await StartAsync(ComponentSet.Embedded);
        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        var conversation = (await alice.SendToPeerAsync(bob, "m1")).Message.ConversationId;
        for (var i = 2; i <= 25; i++)
        {
            await alice.SendAsync(conversation, $"m{i}");
        }

        var newest = await bob.Messaging.GetHistoryAsync(new GetHistoryRequest { ConversationId = conversation, Limit = 10 });
        Assert.Equal(Enumerable.Range(16, 10).Reverse().Select(i => $"m{i}"), newest.Messages.Select(m => m.Content.Text));
        Assert.True(newest.HasMore);
        var older = await bob.Messaging.GetHistoryAsync(new GetHistoryRequest { ConversationId = conversation, BeforeSeq = 16, Limit = 10 });
        Assert.Equal(Enumerable.Range(6, 10).Reverse().Select(i => $"m{i}"), older.Messages.Select(m => m.Content.Text));
        var oldest = await bob.Messaging.GetHistoryAsync(new GetHistoryRequest { ConversationId = conversation, BeforeSeq = 6, Limit = 10 });
        Assert.Equal(5, oldest.Messages.Count);
        Assert.False(oldest.HasMore);

        var forward = await bob.Messaging.GetHistoryAsync(new GetHistoryRequest { ConversationId = conversation, AfterSeq = 20, Limit = 10 });
        Assert.Equal(Enumerable.Range(21, 5).Select(i => $"m{i}"), forward.Messages.Select(m => m.Content.Text));
        Assert.False(forward.HasMore);
    }

    [Fact]
    public async Task Sync_after_a_thousand_missed_messages_returns_them_all_across_pages()
    {
        await using var system = await StartAsync(ComponentSet.Embedded);
        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        var conversation = (await alice.SendToPeerAsync(bob, "m1")).Message.ConversationId;
        var initial = await bob.Messaging.SyncAsync(new SyncRequest());
        var delta0 = Assert.Single(initial.Deltas);
        var cursor = new SyncCursor { ConversationId = conversation, Epoch = delta0.Epoch, LastSeq = delta0.Messages.Last().Seq };

        for (var batch = 0; batch < 10; batch++)
        {
            await Task.WhenAll(Enumerable.Range(0, 100).Select(i => alice.SendAsync(conversation, $"b{batch}-{i}")));
        }

        var received = new List<ChatMessage>();
        for (var round = 0; round < 20; round++)
        {
            var request = new SyncRequest { Limit = 300 };
            request.Cursors.Add(cursor);
            var response = await bob.Messaging.SyncAsync(request);
            var delta = response.Deltas.SingleOrDefault(d => d.ConversationId == conversation);
            if (delta is null)
            {
                break;
            }

            Assert.NotEqual(SyncGapReason.Reset, delta.Gap);
            received.AddRange(delta.Messages);
            if (delta.Messages.Count > 0)
            {
                Assert.Equal(cursor.LastSeq + 1, delta.Messages[0].Seq);
                cursor.LastSeq = delta.Messages[^1].Seq;
            }

            if (!response.HasMore)
            {
                break;
            }

            Assert.Equal(SyncGapReason.Limit, delta.Gap);
        }

        Assert.Equal(1000, received.Count);
        Assert.Equal(Enumerable.Range(2, 1000).Select(i => (ulong)i), received.Select(m => m.Seq));
    }

    [Fact]
    public async Task Sync_reports_an_epoch_change_as_a_reset_and_includes_unknown_conversations()
    {
        await using var system = await StartAsync(ComponentSet.Embedded);
        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        var dm = (await alice.SendToPeerAsync(bob, "x")).Message.ConversationId;
        var group = await alice.CreateGroupAsync("g", bob);
        await alice.SendAsync(group, "y");

        var request = new SyncRequest();
        request.Cursors.Add(new SyncCursor { ConversationId = dm, Epoch = 12345, LastSeq = 1 });
        var response = await bob.Messaging.SyncAsync(request);

        var reset = response.Deltas.Single(d => d.ConversationId == dm);
        Assert.Equal(SyncGapReason.Reset, reset.Gap);
        Assert.Equal(1ul, reset.Messages.Single().Seq);
        var unknown = response.Deltas.Single(d => d.ConversationId == group);
        Assert.Equal("y", unknown.Messages.Single().Content.Text);
        Assert.Equal(2, unknown.Receipts.Count);
    }

    [Fact]
    public async Task Cursors_move_forward_only_and_drive_unread_counts()
    {
        await using var system = await StartAsync(ComponentSet.Embedded);
        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        var carol = await system.RegisterAsync();
        var group = await alice.CreateGroupAsync("g", bob, carol);
        for (var i = 0; i < 5; i++)
        {
            await alice.SendAsync(group, $"m{i}");
        }

        var bobList = await bob.Messaging.ListConversationsAsync(new ListConversationsRequest());
        var summary = bobList.Conversations.Single(c => c.ConversationId == group);
        Assert.Equal(5ul, summary.UnreadCount);
        Assert.Equal("m4", summary.LastMessage.Content.Text);
        Assert.Equal(3u, summary.MemberCount);
        Assert.Equal(0ul, (await alice.Messaging.ListConversationsAsync(new ListConversationsRequest())).Conversations.Single().UnreadCount);

        var delivered = await bob.Messaging.UpdateReceiptAsync(new UpdateReceiptRequest { ConversationId = group, Kind = ReceiptKind.Delivered, UpToSeq = 5 });
        Assert.True(delivered.Changed);
        var read = await bob.Messaging.UpdateReceiptAsync(new UpdateReceiptRequest { ConversationId = group, Kind = ReceiptKind.Read, UpToSeq = 3 });
        Assert.Equal(3ul, read.Cursor.ReadSeq);
        Assert.Equal(5ul, read.Cursor.DeliveredSeq);
        var lower = await bob.Messaging.UpdateReceiptAsync(new UpdateReceiptRequest { ConversationId = group, Kind = ReceiptKind.Read, UpToSeq = 2 });
        Assert.False(lower.Changed);
        Assert.Equal(3ul, lower.Cursor.ReadSeq);

        Assert.Equal(2ul, (await bob.Messaging.ListConversationsAsync(new ListConversationsRequest())).Conversations.Single().UnreadCount);
        await carol.Messaging.UpdateReceiptAsync(new UpdateReceiptRequest { ConversationId = group, Kind = ReceiptKind.Read, UpToSeq = 5 });

        // "Read by k of n" for seq 3: alice (sender) and bob and carol have read it; seq 5 only alice and carol.
        var receipts = await alice.Messaging.GetReceiptsAsync(new GetReceiptsRequest { ConversationId = group });
        Assert.Equal(3, receipts.Cursors.Count(c => c.ReadSeq >= 3));
        Assert.Equal(2, receipts.Cursors.Count(c => c.ReadSeq >= 5));

        var beyond = await Assert.ThrowsAsync<RpcException>(() => bob.Messaging.UpdateReceiptAsync(new UpdateReceiptRequest { ConversationId = group, Kind = ReceiptKind.Read, UpToSeq = 99 }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, beyond.StatusCode);
    }

    [Fact]
    public async Task Non_members_cannot_send_read_history_or_receipts()
    {
        await using var system = await StartAsync(ComponentSet.Embedded);
        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        var mallory = await system.RegisterAsync();
        var dm = (await alice.SendToPeerAsync(bob, "secret")).Message.ConversationId;
        var group = await alice.CreateGroupAsync("private", bob);

        foreach (var conversation in new[] { dm, group })
        {
            var send = await Assert.ThrowsAsync<RpcException>(() => mallory.SendAsync(conversation, "let me in"));
            Assert.Equal(StatusCode.PermissionDenied, send.StatusCode);
            var history = await Assert.ThrowsAsync<RpcException>(() => mallory.Messaging.GetHistoryAsync(new GetHistoryRequest { ConversationId = conversation }).ResponseAsync);
            Assert.Equal(StatusCode.PermissionDenied, history.StatusCode);
            var receipts = await Assert.ThrowsAsync<RpcException>(() => mallory.Messaging.GetReceiptsAsync(new GetReceiptsRequest { ConversationId = conversation }).ResponseAsync);
            Assert.Equal(StatusCode.PermissionDenied, receipts.StatusCode);
        }

        // Sync never hands out someone else's conversation, even when asked for it by id.
        var request = new SyncRequest();
        request.Cursors.Add(new SyncCursor { ConversationId = dm });
        Assert.DoesNotContain((await mallory.Messaging.SyncAsync(request)).Deltas, d => d.ConversationId == dm);
    }

    [Fact]
    public async Task Forged_or_missing_tokens_are_unauthenticated()
    {
        await using var system = await StartAsync(ComponentSet.Embedded);
        var alice = await system.RegisterAsync();
        var forged = alice.AccessToken[..^4] + (alice.AccessToken.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");
        foreach (var token in new string?[] { null, forged, "not-a-jwt" })
        {
            var client = new MessagingService.MessagingServiceClient(system.InvokerFor(Chat.Domain.DaprNames.Apps.Messaging, token));
            var error = await Assert.ThrowsAsync<RpcException>(() => client.ListConversationsAsync(new ListConversationsRequest()).ResponseAsync);
            Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        }
    }

    [Fact]
    public async Task Bad_input_gets_invalid_argument_with_a_reason()
    {
        await using var system = await StartAsync(ComponentSet.Embedded);
        var alice = await system.RegisterAsync();
        var bob = await system.RegisterAsync();
        var dm = (await alice.SendToPeerAsync(bob, "ok")).Message.ConversationId;

        async Task Expect(Func<Task> call, string fragment)
        {
            var error = await Assert.ThrowsAsync<RpcException>(call);
            Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
            Assert.Contains(fragment, error.Status.Detail, StringComparison.OrdinalIgnoreCase);
        }

        await Expect(() => alice.SendAsync(dm, ""), "needs text");
        await Expect(() => alice.SendAsync(dm, new string('x', 64 * 1024 + 1)), "64 KiB");
        await Expect(() => alice.SendAsync(dm, "hi", "short"), "client_msg_id");
        await Expect(() => alice.SendAsync("dm:zz:aa", "hi"), "conversation id");
        await Expect(() => alice.Messaging.GetHistoryAsync(new GetHistoryRequest { ConversationId = dm, Limit = 201 }).ResponseAsync, "limit");
        await Expect(() => alice.Messaging.SyncAsync(new SyncRequest { Limit = 5000 }).ResponseAsync, "limit");
        await Expect(() => alice.Messaging.SendMessageAsync(new SendMessageRequest { PeerUserId = "bad id!", ClientMsgId = Guid.NewGuid().ToString(), Content = new MessageContent { Text = "x" } }).ResponseAsync, "not valid");

        // Nothing was stored by the refused calls.
        Assert.Equal(1ul, (await alice.Messaging.GetHistoryAsync(new GetHistoryRequest { ConversationId = dm })).LastSeq);
    }
}
