using Chat.Contracts.V1;
using Chat.Core;
using Chat.Domain;
using Dapr;
using System.Text.Json;
using Dapr.AspNetCore;
using Grpc.Core;

namespace Chat.Delivery;

/// <summary>
/// The subscriptions of the delivery app. A transient failure answers RETRY, so pub/sub
/// redelivers; a redelivered event may reach a client twice, which clients absorb by msg_id.
/// </summary>
public static partial class EventHandlers
{
    public static void MapEventHandlers(this WebApplication app)
    {
        // In bulk: under load, one route read and one publish per gateway serve many messages;
        // a lone message waits at most MaxAwaitDurationMs for company.
        app.MapPost("/events/message-created", OnMessagesCreatedAsync)
            .WithTopic(DaprNames.PubSub, DaprNames.Topics.MessageCreated)
            .WithBulkSubscribe(new BulkSubscribeTopicOptions { TopicName = DaprNames.Topics.MessageCreated, MaxMessagesCount = BulkSize, MaxAwaitDurationMs = BulkAwaitMs });
        app.MapPost("/events/receipt-updated", OnReceiptUpdatedAsync).WithTopic(DaprNames.PubSub, DaprNames.Topics.ReceiptUpdated);
        app.MapPresenceEventHandlers();
        app.MapPost("/events/group-changed", OnGroupChangedAsync).WithTopic(DaprNames.PubSub, DaprNames.Topics.GroupChanged);
        app.MapMediaEventHandlers();
    }

    /// <summary>Most messages per bulk delivery, and how long a first message waits for more.</summary>
    public const int BulkSize = 100;

    public const int BulkAwaitMs = 2;

    private static async Task<BulkSubscribeAppResponse> OnMessagesCreatedAsync(
        BulkSubscribeMessage<JsonElement> bulk, FanOut fanOut, Recipients recipients, IOfflineNotifier offline, ILoggerFactory logs, CancellationToken ct)
    {
        var log = logs.CreateLogger("Chat.Delivery");
        var statuses = new List<BulkSubscribeAppResponseEntry>(bulk.Entries.Count);
        var events = new List<(string EntryId, MessageCreated Event, IReadOnlyCollection<string> Members)>(bulk.Entries.Count);
        foreach (var entry in bulk.Entries)
        {
            if (ProtoPubSub.TryParseCloudEvent<MessageCreated>(entry.Event, out var evt))
            {
                events.Add((entry.EntryId, evt, evt.MemberIds));
            }
            else
            {
                LogDropped(log, null, nameof(MessageCreated));
                statuses.Add(new BulkSubscribeAppResponseEntry(entry.EntryId, BulkSubscribeAppResponseStatus.DROP));
            }
        }

        try
        {
            for (var i = 0; i < events.Count; i++)
            {
                if (events[i].Members.Count == 0)
                {
                    events[i] = events[i] with { Members = await recipients.MembersAsync(events[i].Event.Message.ConversationId, ct) };
                }
            }

            // The sender is included: their other devices show the message too.
            var table = await fanOut.ResolveAsync(events.SelectMany(e => e.Members).ToList(), ct);
            await fanOut.PublishManyAsync(table, events.Select(e => (new Chat.Contracts.V1.Delivery
            {
                MessageCreated = WithoutMembers(e.Event),
                // The sending connection has the ack; the sender's other tabs and devices still get it.
                ExcludeConnectionIds = { e.Event.SenderConnectionId.Length > 0 ? [e.Event.SenderConnectionId] : [] },
            }, e.Members)).ToList(), ct);
            var offlineUsers = table.Offline.ToHashSet(StringComparer.Ordinal);
            foreach (var (_, evt, members) in events)
            {
                var offlineRecipients = members.Where(u => u != evt.Message.SenderId && offlineUsers.Contains(u)).Distinct(StringComparer.Ordinal).ToList();
                if (offlineRecipients.Count > 0)
                {
                    await offline.NotifyAsync(evt, offlineRecipients, ct);
                }
            }

            statuses.AddRange(events.Select(e => new BulkSubscribeAppResponseEntry(e.EntryId, BulkSubscribeAppResponseStatus.SUCCESS)));
        }
        catch (Exception ex) when (ex is RpcException or DaprException or HttpRequestException or TimeoutException)
        {
            LogRetry(log, ex, nameof(MessageCreated));
            statuses.AddRange(events.Select(e => new BulkSubscribeAppResponseEntry(e.EntryId, BulkSubscribeAppResponseStatus.RETRY)));
        }

        return new BulkSubscribeAppResponse(statuses);
    }

    // A gateway needs only its own users (the batch's user_ids), not the group's member list a
    // second time: for a large group that list was most of each delivery's bytes.
    private static MessageCreated WithoutMembers(MessageCreated evt)
    {
        var copy = evt.Clone();
        copy.MemberIds.Clear();
        return copy;
    }

    private static Task<IResult> OnReceiptUpdatedAsync(HttpRequest request, FanOut fanOut, Recipients recipients, ILoggerFactory logs) =>
        Handle(request, logs, async (ReceiptUpdated evt, CancellationToken ct) =>
        {
            var members = evt.MemberIds.Count > 0 ? evt.MemberIds : await recipients.MembersAsync(evt.ConversationId, ct);
            var table = await fanOut.ResolveAsync(members, ct);
            await fanOut.PublishAsync(table, () => new Chat.Contracts.V1.Delivery { ReceiptUpdated = evt }, ct);
        });

    // Members after the change and the users it removed, so a removed member's clients drop the group.
    private static Task<IResult> OnGroupChangedAsync(HttpRequest request, FanOut fanOut, ILoggerFactory logs) =>
        Handle(request, logs, async (GroupChanged evt, CancellationToken ct) =>
        {
            var table = await fanOut.ResolveAsync([.. evt.MemberIds, .. evt.FormerMemberIds], ct);
            await fanOut.PublishAsync(table, () => new Chat.Contracts.V1.Delivery { GroupChanged = evt }, ct);
        });

    private static async Task<IResult> Handle<T>(HttpRequest request, ILoggerFactory logs, Func<T, CancellationToken, Task> handler)
        where T : Google.Protobuf.IMessage<T>, new()
    {
        var log = logs.CreateLogger("Chat.Delivery");
        T evt;
        try
        {
            evt = await ProtoPubSub.ReadProtoAsync<T>(request.Body, request.ContentType, request.HttpContext.RequestAborted);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException ex)
        {
            // A malformed event never becomes valid: drop it (to the dead-letter topic if configured).
            LogDropped(log, ex, typeof(T).Name);
            return Results.Ok(new { status = "DROP" });
        }

        try
        {
            await handler(evt, request.HttpContext.RequestAborted);
            return Results.Ok(new { status = "SUCCESS" });
        }
        catch (Exception ex) when (ex is RpcException or DaprException or HttpRequestException or TimeoutException)
        {
            LogRetry(log, ex, typeof(T).Name);
            return Results.Ok(new { status = "RETRY" });
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Dropping a malformed {Event}")]
    private static partial void LogDropped(ILogger logger, Exception? ex, string @event);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivering {Event} failed; asking pub/sub to retry")]
    private static partial void LogRetry(ILogger logger, Exception ex, string @event);
}
