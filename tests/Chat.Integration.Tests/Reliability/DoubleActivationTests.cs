using System.Collections.Concurrent;
using Chat.Contracts.V1;
using Chat.Domain;
using Chat.Integration.Tests.Infrastructure;
using Dapr.Client;
using Grpc.Core;

namespace Chat.Integration.Tests.Reliability;

/// <summary>
/// Issue 20, item 5: two activations of one conversation actor at once (a placement change, a
/// partition, or a router whose sidecar restarted and still holds its old activations). Two
/// systems share every store but not their actor placement, so each one's router believes it owns
/// the conversation: a split brain. Clients send through both at the same time, and every message
/// either side acknowledged must be in the history, at the seq it was acknowledged with. On two
/// messages stores that cannot refuse a second write of a seq inside a transaction:
/// <c>state.cassandra</c> (no first-write, no ETags, no transactions) and <c>state.redis</c>
/// (first-write on single saves only).
/// </summary>
[Trait("Area", "ScaleOut")]
[Collection(RedisCollection.Name)]
public sealed class DoubleActivationTests(RedisServerFixture redis)
{
    private const int MessagesPerSide = 15;

    public static TheoryData<string> MessagesStores => new() { "state.cassandra", "state.redis" };

    [Theory]
    [MemberData(nameof(MessagesStores))]
    public async Task Two_activations_of_one_conversation_lose_no_acknowledged_message(string messagesStoreType)
    {
        var change = messagesStoreType == "state.redis" ? RedisMessagesStore(redis.Endpoint) : CassandraMessagesStore;
        await using var left = await ChatHarness.InProcessAsync(new() { ComponentChanges = [change], Redis = redis.Endpoint });
        using (var dapr = new DaprClientBuilder().UseGrpcEndpoint(left.ClientSidecar.GrpcEndpoint).UseDaprApiToken(left.ClientApiToken).Build())
        {
            var messagesStore = (await dapr.GetMetadataAsync()).Components.Single(c => c.Name == DaprNames.StateStores.Messages);
            Assert.Equal(messagesStoreType, messagesStore.Type);
            Assert.Equal(messagesStoreType == "state.redis" ? ["ETAG", "TRANSACTIONAL", "TTL"] : ["TTL"], messagesStore.Capabilities.Order());
        }

        // The same component files (the same SQLite files), but a placement of its own.
        await using var right = await ChatHarness.InProcessAsync(new() { ComponentsOf = left });

        var alice = await left.RegisterAsync();
        var bob = await left.RegisterAsync();
        var conversationId = (await alice.SendToPeerAsync(bob, "before the split")).Message.ConversationId;
        var bobOnRight = new MessagingService.MessagingServiceClient(right.InvokerFor(DaprNames.Apps.Messaging, bob.AccessToken));

        var acknowledged = new ConcurrentBag<ChatMessage>();
        async Task SendAsync(MessagingService.MessagingServiceClient client, string who)
        {
            for (var i = 0; i < MessagesPerSide; i++)
            {
                var request = new SendMessageRequest
                {
                    ConversationId = conversationId,
                    ClientMsgId = Guid.NewGuid().ToString("N"),
                    Content = new MessageContent { Text = $"{who} {i}" },
                };
                // As a client does: a send that failed is retried with the same client_msg_id.
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        acknowledged.Add((await client.SendMessageAsync(request)).Message);
                        break;
                    }
                    catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable && attempt < 5)
                    {
                    }
                }
            }
        }

        await Task.WhenAll(SendAsync(alice.Messaging, "alice via left"), SendAsync(bobOnRight, "bob via right"));
        Assert.Equal(2 * MessagesPerSide, acknowledged.Count);
        Assert.Equal(2 * MessagesPerSide, acknowledged.Select(m => m.Seq).Distinct().Count());

        // Through either side's messaging, history and a sync from nothing hold every acknowledged
        // message at its seq. The header may lag for a moment (a late header write of the other
        // activation), so poll.
        var bobOnLeft = bob.Messaging;
        foreach (var (side, reader) in new[] { ("left", bobOnLeft), ("right", bobOnRight) })
        {
            await UntilAllAcknowledgedAsync($"history through the {side} side", async () =>
                (await reader.GetHistoryAsync(new GetHistoryRequest { ConversationId = conversationId, AfterSeq = 1, Limit = 100 })).Messages);
            await UntilAllAcknowledgedAsync($"a sync through the {side} side", async () =>
                (await reader.SyncAsync(new SyncRequest())).Deltas.Single(d => d.ConversationId == conversationId).Messages.Where(m => m.Seq > 1));
        }

        // The left activation is now behind the right one's last append: asked to edit that message,
        // it catches up before judging the target instead of refusing it as unknown.
        var last = (await bobOnRight.SendMessageAsync(new SendMessageRequest
        {
            ConversationId = conversationId,
            ClientMsgId = Guid.NewGuid().ToString("N"),
            Content = new MessageContent { Text = "bob's last, via right" },
        })).Message;
        var edit = (await bobOnLeft.EditMessageAsync(new EditMessageRequest
        {
            ConversationId = conversationId,
            TargetSeq = last.Seq,
            ClientMsgId = Guid.NewGuid().ToString("N"),
            Text = "bob's last, edited via left",
        })).Entry;
        Assert.Equal(last.Seq + 1, edit.Seq);

        async Task UntilAllAcknowledgedAsync(string what, Func<Task<IEnumerable<ChatMessage>>> read)
        {
            var (messages, _, _) = await Wait.ForAsync(
                async () =>
                {
                    var list = (await read()).OrderBy(m => m.Seq).ToList();
                    var stored = list.ToDictionary(m => m.Seq);
                    return (Messages: list, Stored: stored, Missing: acknowledged.Where(m => !stored.TryGetValue(m.Seq, out var s) || s.MsgId != m.MsgId).ToList());
                },
                r => r.Missing.Count == 0,
                r => $"{what} to hold every acknowledged message; it lacks {r.Missing.Count}: " +
                    string.Join(", ", r.Missing.OrderBy(m => m.Seq).Select(m => $"seq {m.Seq} '{m.Content.Text}' (stored there: '{(r.Stored.TryGetValue(m.Seq, out var s) ? s.Content.Text : "nothing")}')")));

            // Nothing else was stored: seqs 2.. without a gap, one per acknowledged send.
            Assert.Equal(Enumerable.Range(2, acknowledged.Count).Select(s => (ulong)s), messages.Select(m => m.Seq));
        }
    }

    /// <summary>messages-store on the redis-server of the test run (the redis set's store).</summary>
    private static ComponentChange RedisMessagesStore(string endpoint) => new(DaprNames.StateStores.Messages)
    {
        Type = "state.redis",
        Metadata = new Dictionary<string, string> { ["redisHost"] = endpoint, ["redisPassword"] = "" },
    };

    /// <summary>messages-store as production has it: state.cassandra (here on a SQLite file of the run, with Cassandra's features).</summary>
    private static readonly ComponentChange CassandraMessagesStore = new(DaprNames.StateStores.Messages)
    {
        Type = "state.cassandra",
        Metadata = new Dictionary<string, string>
        {
            ["hosts"] = "127.0.0.1",
            ["keyspace"] = "chat",
            ["devSidecarConnectionString"] = "data/messages-cassandra.db",
        },
    };
}
